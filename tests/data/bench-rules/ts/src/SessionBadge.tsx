import React from "react";

const badgeColours = { active: "green", expired: "grey" };
let renders = 0;

export class SessionBadge extends React.Component<{ status: "active" | "expired" }> {
  private static instance: SessionBadge | null = null;
  private clicks: number[] = [];
  private timers = new Set<number>();

  componentDidMount(): void {
    SessionBadge.instance = this;
    this.timers.add(window.setTimeout(() => this.forceUpdate(), 500));
  }

  render() {
    renders += 1;
    return <span style={{ color: badgeColours[this.props.status] }}>{this.props.status}</span>;
  }
}

export const badgeCache = new Map<string, JSX.Element>();
