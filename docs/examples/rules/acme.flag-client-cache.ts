import express from 'express';
import Redis from 'ioredis';
import { FlagClient, createFlagClient } from '@acme/flags';
import { redisFlagStore } from '@acme/flags-redis';
import { FlagClient as VendorFlagClient } from 'vendor-flags';

const redis = new Redis(process.env.REDIS_URL ?? 'redis://localhost:6379');
const sdkKey = process.env.FLAGS_KEY ?? 'dev';

// expect: acme.flag-client-cache risk=MEDIUM category=config shared=partial
export const flags = new FlagClient({ sdkKey });

// expect: acme.flag-client-cache
const experiments = createFlagClient({ sdkKey, refreshInterval: 30_000 });

// ok: acme.flag-client-cache
export const sharedFlags = new FlagClient({ sdkKey, store: redisFlagStore(redis) });

// ok: acme.flag-client-cache
const vendorFlags = new VendorFlagClient({ sdkKey });

export class CheckoutService {
  // expect: acme.flag-client-cache
  private readonly flags = new FlagClient({ sdkKey });

  private readonly pricing: FlagClient;

  constructor() {
    // expect: acme.flag-client-cache
    this.pricing = new FlagClient({ sdkKey, refreshInterval: 60_000 });
  }

  async discountFor(userId: string): Promise<number> {
    return (await this.pricing.isEnabled('spring-sale', userId)) ? 0.1 : 0;
  }
}

export const app = express();

app.get('/preview/:flag', async (req, res) => {
  // ok: acme.flag-client-cache
  const preview = new FlagClient({ sdkKey: String(req.query.key) });
  res.json({ on: await preview.isEnabled(req.params.flag, 'preview') });
});

app.get('/experiments', async (_req, res) => {
  res.json(await experiments.all());
});

app.get('/flags/:name', async (req, res) => {
  res.json({ on: await flags.isEnabled(req.params.name, 'anonymous') || (await vendorFlags.isEnabled(req.params.name)) });
});
