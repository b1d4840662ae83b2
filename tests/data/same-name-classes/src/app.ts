import express from "express";
import { sessions } from "./sessions";

const app = express();

app.post("/login", (req, res) => {
  sessions.open(String(req.query.token), String(req.query.user), 30 * 60 * 1000);
  res.sendStatus(204);
});

app.listen(Number(process.env.PORT ?? 3000));
