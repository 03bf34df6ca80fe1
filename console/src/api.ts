// The operator's side of the Open Channels GraphQL API, the public API only: queries and mutations
// over HTTP (fetch), subscriptions over graphql-transport-ws (the graphql-ws package's client).
// The bearer token comes from `login` and lives in sessionStorage (this tab only, gone when it closes).
import { createClient, type Client } from "graphql-ws";

const TOKEN_KEY = "openchannels.console.token";
const RESUBSCRIBE_MS = 3000;

export interface UserError { code: string; message: string }
export interface Answer<T> { data?: T; errors?: { message: string; extensions?: { code?: string } }[] }

export class Unauthenticated extends Error {}

export class Api {
  token: string | null = sessionStorage.getItem(TOKEN_KEY);
  private socket: Client | null = null;
  onSignedOut: () => void = () => undefined;

  constructor(readonly httpUrl: string, readonly wsUrl: string) {}

  signIn(token: string): void {
    this.token = token;
    sessionStorage.setItem(TOKEN_KEY, token);
  }

  signOut(): void {
    this.token = null;
    sessionStorage.removeItem(TOKEN_KEY);
    this.socket?.dispose();
    this.socket = null;
  }

  /** One operation over HTTP; the data, or an Error with the first top-level error's message. */
  async call<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
    const response = await fetch(this.httpUrl, {
      method: "POST",
      headers: { "Content-Type": "application/json", ...(this.token ? { Authorization: `Bearer ${this.token}` } : {}) },
      body: JSON.stringify({ query, variables }),
    });
    const answer = (await response.json()) as Answer<T>;
    if (answer.errors?.length) {
      if (answer.errors.some((error) => error.extensions?.code === "UNAUTHENTICATED")) {
        this.signOut();
        this.onSignedOut();
        throw new Unauthenticated(answer.errors[0].message);
      }
      throw new Error(answer.errors[0].message);
    }
    return answer.data as T;
  }

  /** A mutation whose payload has `userErrors`: the payload, or an Error with the first one's message. */
  async mutate<P>(field: string, query: string, variables: Record<string, unknown>): Promise<P> {
    const data = await this.call<Record<string, P & { userErrors?: UserError[] }>>(query, variables);
    const payload = data[field];
    if (payload.userErrors?.length) throw new Error(payload.userErrors[0].message);
    return payload;
  }

  private client(): Client {
    if (!this.socket) {
      this.socket = createClient({
        url: this.wsUrl,
        connectionParams: () => ({ Authorization: `Bearer ${this.token}` }),
        lazy: true,
        keepAlive: 20_000,
        retryAttempts: Number.MAX_SAFE_INTEGER, // a console stays open all day: keep coming back
        shouldRetry: () => true,
      });
    }
    return this.socket;
  }

  /**
   * A subscription of events with monotonic `eventId`s, from `after` on. Each event moves `after`
   * on, so when graphql-ws subscribes again after a dropped connection (same variables) the server
   * replays what was missed, nothing twice; an ended subscription starts again from there.
   */
  events<T extends { eventId: string }>(query: string, field: string, variables: Record<string, unknown>,
                                        onEvent: (event: T) => void): () => void {
    const vars = { ...variables };
    let stop: (() => void) | null = null, stopped = false, timer = 0;
    const again = () => {
      if (!stopped) timer = window.setTimeout(start, RESUBSCRIBE_MS);
    };
    const start = () => {
      stop = this.client().subscribe<Record<string, T>>({ query, variables: vars }, {
        next: ({ data }) => {
          if (!data) return;
          vars.after = data[field].eventId;
          onEvent(data[field]);
        },
        error: again,
        complete: again,
      });
    };
    start();
    return () => {
      stopped = true;
      window.clearTimeout(timer);
      stop?.();
    };
  }

  /** Called with true when the WebSocket (re)connects, false when it drops. */
  onConnection(listener: (connected: boolean) => void): () => void {
    const offs = [this.client().on("connected", () => listener(true)), this.client().on("closed", () => listener(false))];
    return () => offs.forEach((off) => off());
  }

  /** A live-only subscription (typing): nothing is replayed. */
  live<T>(query: string, field: string, variables: Record<string, unknown>, onNext: (value: T) => void): () => void {
    return this.client().subscribe<Record<string, T>>({ query, variables }, {
      next: ({ data }) => data && onNext(data[field]),
      error: () => undefined,
      complete: () => undefined,
    });
  }
}
