// The visitor's side of the Open Channels GraphQL API: queries and mutations over HTTP (fetch),
// subscriptions over graphql-transport-ws (the graphql-ws package's client).
import { createClient, type Client } from "graphql-ws";

export interface Attachment { id: string; name: string; size: number; url: string }
export interface Message {
  id: string;
  authorKind: "CLIENT" | "OPERATOR" | "SYSTEM";
  text: string;
  html: string;
  deleted: boolean;
  createdAt: string;
  author: { name: string } | null;
  attachments: Attachment[];
}
export interface Chat {
  id: string;
  status: "QUEUED" | "ACTIVE" | "CLOSED";
  eventCursor: string;
  queuePosition: number | null;
  estimatedWaitSeconds: number | null;
  rating: { vote: string } | null;
  operator: { name: string } | null;
  openChannel: { name: string; language: string; ratingEnabled: boolean } | null;
  lastMessage: { authorKind: string } | null;
  /** only in the full read (VISITOR_CHAT) */
  messages?: { edges: { node: Message }[] };
}
export interface ChatEvent { eventId: string; kind: string; chatId: string; message: Message | null }
export interface TypingEvent { authorKind: string; typing: boolean; operator: { name: string } | null }
export interface QueueStatus { chatId: string; queuePosition: number | null; estimatedWaitSeconds: number | null }
export interface UserError { code: string; message: string; field: string[] | null }
export type ContactFields = "NONE" | "OPTIONAL" | "REQUIRED";
/** What the widget shows before the first message (public: widgetSettings needs no token). */
export interface ChannelSettings {
  name: string;
  language: string;
  ratingEnabled: boolean;
  isOpenNow: boolean;
  contactFields: ContactFields;
}

const RESUBSCRIBE_MS = 5000;
const MESSAGE = "id authorKind text html deleted createdAt author { name } attachments { id name size url }";
const ERRORS = "userErrors { code message field }";

const CHAT = `id status eventCursor queuePosition estimatedWaitSeconds rating { vote } operator { name }
  openChannel { name language ratingEnabled } lastMessage { authorKind }`;
/** The channel's name, language and form before the first message (no token: null for an unknown channel). */
export const SETTINGS = `query WidgetSettings($id: ID!) { widgetSettings(openChannelId: $id) {
  name language ratingEnabled isOpenNow contactFields } }`;
/** The chat and its latest messages: on arrival, after a reconnection, for a new conversation. */
export const VISITOR_CHAT = `query WidgetChat { visitorChat { ${CHAT} messages(last: 100) { edges { node { ${MESSAGE} } } } } }`;
/** The chat's state only (status, queue, rating): after each event, whose message comes with it. */
export const CHAT_STATE = `query WidgetChatState { visitorChat { ${CHAT} } }`;
export const START = `mutation WidgetStart($input: StartVisitorChatInput!) {
  startVisitorChat(input: $input) { visitorToken chat { id } ${ERRORS} } }`;
export const SEND = `mutation WidgetSend($input: SendVisitorMessageInput!) {
  sendVisitorMessage(input: $input) { message { ${MESSAGE} } ${ERRORS} } }`;
export const FINISH = `mutation WidgetFinish { finishVisitorChat { chat { id status } ${ERRORS} } }`;
export const RATE = `mutation WidgetRate($input: RateChatInput!) { rateChat(input: $input) { chat { id } ${ERRORS} } }`;
export const TYPING = `mutation WidgetTyping($input: SetVisitorTypingInput!) { setVisitorTyping(input: $input) }`;
const EVENTS = `subscription WidgetEvents($after: String) { visitorChatEvents(after: $after) {
  eventId kind chatId message { ${MESSAGE} } } }`;
const TYPING_EVENTS = `subscription WidgetTypingEvents($chatId: ID) { typing(chatId: $chatId) {
  authorKind typing operator { name } } }`;
const QUEUE_EVENTS = `subscription WidgetQueue { visitorQueue { chatId queuePosition estimatedWaitSeconds } }`;
const UPLOAD = `mutation WidgetUpload($chatId: ID!, $file: Upload!) {
  uploadFile(input: {chatId: $chatId, file: $file}) { attachment { id } ${ERRORS} } }`;

export interface Answer<T> { data?: T; errors?: { message: string; extensions?: { code?: string } }[] }

export class Api {
  token: string | null = null;
  private socket: Client | null = null;

  constructor(readonly httpUrl: string, readonly wsUrl: string) {}

  private headers(): Record<string, string> {
    return this.token ? { Authorization: `Bearer ${this.token}` } : {};
  }

  /** One operation over HTTP; the whole answer (data and top-level errors). */
  async call<T>(query: string, variables: Record<string, unknown> = {}): Promise<Answer<T>> {
    const response = await fetch(this.httpUrl, {
      method: "POST",
      headers: { "Content-Type": "application/json", ...this.headers() },
      body: JSON.stringify({ query, variables }),
    });
    return (await response.json()) as Answer<T>;
  }

  /** A GraphQL multipart request (uploadFile): the id of the uploaded file, or the error's code. */
  async upload(chatId: string, file: File): Promise<{ id?: string; error?: string }> {
    const form = new FormData();
    form.append("operations", JSON.stringify({ query: UPLOAD, variables: { chatId, file: null } }));
    form.append("map", JSON.stringify({ 0: ["variables.file"] }));
    form.append("0", file, file.name);
    const response = await fetch(this.httpUrl, {
      method: "POST", body: form, headers: { "Apollo-Require-Preflight": "true", ...this.headers() },
    });
    const answer = (await response.json().catch(() => ({}))) as Answer<{
      uploadFile: { attachment: { id: string } | null; userErrors: UserError[] } }>;
    const payload = answer.data?.uploadFile;
    if (payload?.attachment) return { id: payload.attachment.id };
    return { error: payload?.userErrors[0]?.message || answer.errors?.[0]?.message || String(response.status) };
  }

  private client(): Client {
    if (!this.socket) {
      this.socket = createClient({
        url: this.wsUrl,
        connectionParams: () => ({ Authorization: `Bearer ${this.token}` }),
        lazy: true,
        keepAlive: 20_000,
        retryAttempts: Number.MAX_SAFE_INTEGER, // a visitor's tab stays open: keep coming back
        shouldRetry: () => true,
      });
    }
    return this.socket;
  }

  /**
   * The visitor's chat events from `after` on. After a dropped connection graphql-ws subscribes
   * again with these same variables, whose `after` follows every event received: the server
   * replays what was missed, nothing twice. A close graphql-ws does not retry (a close code it
   * deems fatal, a server error) ends the subscription: it starts again a moment later, from there.
   */
  events(after: string | null, onEvent: (event: ChatEvent) => void, onState: (connected: boolean) => void): () => void {
    const variables: { after: string | null } = { after };
    let stop: (() => void) | null = null, stopped = false, timer = 0;
    const listening = [this.client().on("connected", () => onState(true)),
                       this.client().on("closed", () => onState(false))];
    const again = () => {
      if (!stopped) timer = window.setTimeout(start, RESUBSCRIBE_MS);
    };
    const start = () => {
      stop = this.client().subscribe<{ visitorChatEvents: ChatEvent }>({ query: EVENTS, variables }, {
        next: ({ data }) => {
          if (!data) return;
          variables.after = data.visitorChatEvents.eventId;
          onEvent(data.visitorChatEvents);
        },
        error: again,
        complete: again,
      });
    };
    start();
    return () => {
      stopped = true;
      listening.forEach((unlisten) => unlisten());
      window.clearTimeout(timer);
      stop?.();
    };
  }

  typing(chatId: string, onTyping: (event: TypingEvent) => void): () => void {
    return this.client().subscribe<{ typing: TypingEvent }>({ query: TYPING_EVENTS, variables: { chatId } }, {
      next: ({ data }) => data && onTyping(data.typing),
      error: () => undefined,
      complete: () => undefined,
    });
  }

  /** The visitor's place in the queue, live: now, then each change; it completes when the chat closes. */
  queue(onStatus: (status: QueueStatus) => void): () => void {
    return this.client().subscribe<{ visitorQueue: QueueStatus }>({ query: QUEUE_EVENTS }, {
      next: ({ data }) => data && onStatus(data.visitorQueue),
      error: () => undefined,
      complete: () => undefined,
    });
  }

  close(): void {
    this.socket?.dispose();
    this.socket = null;
  }
}
