// The Open Channels chat widget: <script src="https://HOST/widget.js" data-open-channel="ID" async>.
// Reads the channel from its own tag, talks to the server the script came from, and shows itself
// once the channel's settings (widgetSettings: its name, language, form) are known.
import { Api, CHAT_STATE, FINISH, RATE, SEND, SETTINGS, START, TYPING, VISITOR_CHAT } from "./api";
import type { ChannelSettings, Chat, ChatEvent, Message, QueueStatus, TypingEvent, UserError } from "./api";
import { renderMessage, safeUrl } from "./safe_html";
import { load, save, type Saved } from "./storage";
import { fill, spoken, textsFor, type Texts } from "./texts";
import { el, icon, View } from "./view";

const OPEN = new Set(["QUEUED", "ACTIVE"]);
const TYPING_SHOWN_MS = 6000;
const TYPING_REPEAT_MS = 2500;
const TYPING_IDLE_MS = 4000;

interface Settings {
  channelId: string;
  language: string | null;
  externalId: string | null;
  identityHash: string | null;
  httpUrl: string;
  wsUrl: string;
}

function settingsOf(script: HTMLScriptElement): Settings | null {
  const channelId = script.dataset.openChannel;
  if (!channelId || !script.src) return null;
  const httpUrl = new URL("graphql", script.src).href; // beside widget.js: works under a path prefix too
  return {
    channelId,
    language: script.dataset.language || null,
    externalId: script.dataset.externalId || null,
    identityHash: script.dataset.identityHash || null,
    httpUrl,
    wsUrl: httpUrl.replace(/^http/, "ws"),
  };
}

class Widget {
  private readonly api: Api;
  private readonly view: View;
  private texts: Texts;
  private language: string;
  private saved: Saved | null;
  private chat: Chat | null = null;
  private readonly shown = new Map<string, HTMLElement>();
  private stopEvents: (() => void) | null = null;
  private stopTyping: (() => void) | null = null;
  private typingChatId: string | null = null;
  private typingHide = 0;
  private typingSentAt = 0;
  private typingIdle = 0;
  private stopQueue: (() => void) | null = null;
  private queueChatId: string | null = null;
  /** The latest visitorQueue standing. Once one came it wins over a query's figures: a chat read
   * before a chat ahead was answered may arrive after the standing that says so. */
  private standing: QueueStatus | null = null;
  private refreshing: Promise<void> | null = null;
  private refreshAgain = false;
  private refreshFull = false;
  private vote: string | null = null;
  private busy = false;

  /** `channel`: the channel's widgetSettings; null when they could not be read (the server is
   * unreachable for now): the tag's data-language (else the page's, the browser's) and an optional
   * form until the chat tells more (startVisitorChat refuses a start the channel requires more of). */
  constructor(private readonly settings: Settings, api: Api, channel: ChannelSettings | null) {
    this.api = api;
    this.language = spoken(channel?.language) || spoken(settings.language) || spoken(document.documentElement.lang)
      || spoken(navigator.language) || "en";
    this.texts = textsFor(this.language);
    this.view = new View(channel?.contactFields || "OPTIONAL");
    if (channel) {
      this.view.title.textContent = channel.name;
      this.view.closedNow = !channel.isOpenNow;
    }
    this.saved = load(settings.channelId, settings.externalId);
    this.api.token = this.saved?.token || null;
    this.wire();
    this.view.label(this.texts);
    this.view.showContact(!this.saved);
    document.body.appendChild(this.view.host);
    if (this.saved) void this.resume();
  }

  // --- the visitor's actions

  private wire(): void {
    const v = this.view;
    v.launcher.addEventListener("click", () => this.toggle(v.panel.hidden));
    v.closeButton.addEventListener("click", () => this.toggle(false));
    v.panel.addEventListener("keydown", (event) => {
      if (event.key === "Escape") this.toggle(false);
    });
    v.form.addEventListener("submit", (event) => {
      event.preventDefault();
      void this.sendText();
    });
    v.input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        v.form.requestSubmit();
      }
    });
    v.input.addEventListener("input", () => this.typed());
    v.attach.addEventListener("click", () => v.fileInput.click());
    v.fileInput.addEventListener("change", () => void this.sendFile());
    v.endButton.addEventListener("click", () => void this.finish());
    for (const button of [v.like, v.dislike]) {
      button.addEventListener("click", () => {
        this.vote = button.dataset.vote || null;
        v.like.setAttribute("aria-pressed", String(this.vote === "LIKE"));
        v.dislike.setAttribute("aria-pressed", String(this.vote === "DISLIKE"));
        v.rateButton.disabled = !this.vote;
      });
    }
    v.rating.addEventListener("submit", (event) => {
      event.preventDefault();
      void this.rate();
    });
  }

  private toggle(open: boolean): void {
    const v = this.view;
    v.panel.hidden = !open;
    v.launcher.setAttribute("aria-expanded", String(open));
    if (open) {
      v.dot.hidden = true;
      v.label(this.texts);
      (v.contact.hidden ? v.input : v.name).focus();
      v.log.scrollTop = v.log.scrollHeight;
    } else {
      v.launcher.focus();
    }
  }

  private async sendText(): Promise<void> {
    const v = this.view;
    const text = v.input.value.trim();
    if (!text || this.busy) return;
    this.busy = true;
    this.fail(null);
    try {
      if (!this.api.token) await this.start(text);
      else await this.send(text);
    } catch {
      this.fail(this.texts.failed);
    } finally {
      this.busy = false;
    }
  }

  /** The first message: a visitor token and a chat (name and e-mail if given, the site's signed identity). */
  private async start(text: string): Promise<void> {
    const s = this.settings, v = this.view;
    const answer = await this.api.call<{ startVisitorChat: { visitorToken: string | null; userErrors: UserError[] } }>(
      START, { input: { openChannelId: s.channelId, text, name: v.name.value.trim() || null,
                        email: v.email.value.trim() || null, externalId: s.externalId, identityHash: s.identityHash } });
    const payload = answer.data?.startVisitorChat;
    if (!payload?.visitorToken) {
      const problem = payload?.userErrors[0];
      if (problem && isContactField(problem.field)) { // the channel asks for both (settings not read at load)
        this.view.contactFields("REQUIRED");
        this.view.label(this.texts);
        this.fail(this.texts.contactRequired);
        (problem.field?.[1] === "email" ? v.email : v.name).focus();
        return;
      }
      this.fail(problem?.message || this.texts.failed);
      return;
    }
    v.input.value = "";
    this.api.token = payload.visitorToken;
    this.saved = { token: payload.visitorToken, externalId: s.externalId };
    save(s.channelId, this.saved);
    v.showContact(false);
    await this.resume();
  }

  private async send(text: string): Promise<void> {
    this.stopTypingSignal();
    const answer = await this.api.call<{ sendVisitorMessage: { message: Message | null; userErrors: UserError[] } }>(
      SEND, { input: { text } });
    if (this.forgotten(answer)) return this.start(text);
    const payload = answer.data?.sendVisitorMessage;
    if (!payload?.message) {
      this.fail(payload?.userErrors[0]?.message || this.texts.failed);
      return;
    }
    this.view.input.value = "";
    this.show(payload.message);
    void this.refresh(); // a first message after a finished chat opens a new one
  }

  private async sendFile(): Promise<void> {
    const file = this.view.fileInput.files?.[0];
    this.view.fileInput.value = "";
    if (!file || !this.chat || !OPEN.has(this.chat.status)) return;
    this.fail(null);
    try {
      const uploaded = await this.api.upload(this.chat.id, file);
      if (!uploaded.id) return this.fail(uploaded.error || this.texts.failed);
      const answer = await this.api.call<{ sendVisitorMessage: { message: Message | null; userErrors: UserError[] } }>(
        SEND, { input: { text: "", attachmentIds: [uploaded.id] } });
      const payload = answer.data?.sendVisitorMessage;
      if (payload?.message) this.show(payload.message);
      else this.fail(payload?.userErrors[0]?.message || this.texts.failed);
    } catch {
      this.fail(this.texts.failed);
    }
  }

  private async finish(): Promise<void> {
    if (!this.chat) return;
    const chatId = this.chat.id;
    try {
      const answer = await this.api.call<{ finishVisitorChat: { userErrors: UserError[] } }>(FINISH);
      const problem = answer.data?.finishVisitorChat.userErrors[0];
      if (problem && problem.code !== "INVALID_STATE") return this.fail(problem.message);
      if (this.saved) {
        this.saved.endedChatId = chatId; // the visitor left: nobody asks them to rate
        save(this.settings.channelId, this.saved);
      }
      await this.refresh();
    } catch {
      this.fail(this.texts.failed);
    }
  }

  private async rate(): Promise<void> {
    if (!this.vote) return;
    try {
      const answer = await this.api.call<{ rateChat: { userErrors: UserError[] } }>(
        RATE, { input: { vote: this.vote, comment: this.view.comment.value.trim() || null } });
      const problem = answer.data?.rateChat.userErrors[0];
      if (problem && problem.code !== "INVALID_STATE") return this.fail(problem.message);
      this.view.rating.hidden = true;
      this.view.input.focus(); // the focus stays in the panel (Escape, typing)
      if (!problem) this.note(this.texts.thanks);
    } catch {
      this.fail(this.texts.failed);
    }
  }

  /** Typing: "yes" at most every TYPING_REPEAT_MS while keys come, "no" after TYPING_IDLE_MS without. */
  private typed(): void {
    if (!this.chat || !OPEN.has(this.chat.status)) return;
    window.clearTimeout(this.typingIdle);
    this.typingIdle = window.setTimeout(() => this.stopTypingSignal(), TYPING_IDLE_MS);
    if (Date.now() - this.typingSentAt > TYPING_REPEAT_MS) {
      this.typingSentAt = Date.now();
      void this.api.call(TYPING, { input: { typing: true } }).catch(() => undefined);
    }
  }

  private stopTypingSignal(): void {
    window.clearTimeout(this.typingIdle);
    if (!this.typingSentAt) return;
    this.typingSentAt = 0;
    void this.api.call(TYPING, { input: { typing: false } }).catch(() => undefined);
  }

  // --- what the server says

  /** The chat as it is now, then its events from there on (once per page). */
  private async resume(): Promise<void> {
    await this.refresh(true);
    if (!this.stopEvents && this.api.token) {
      this.stopEvents = this.api.events(this.chat?.eventCursor || null, (event) => this.onEvent(event),
                                        (connected) => this.connection(connected));
    }
  }

  /** An event of the chat shown brings its message; one of another chat (a new conversation) makes
   * the state read find that chat, and a full read show it. */
  private onEvent(event: ChatEvent): void {
    if (event.message && event.chatId === this.chat?.id) this.show(event.message);
    void this.refresh();
  }

  private connection(connected: boolean): void {
    if (connected) {
      if (this.view.status.textContent === this.texts.reconnecting) this.view.status.hidden = true;
      void this.refresh(); // the missed events come again over the new connection (after)
    } else if (this.chat && OPEN.has(this.chat.status)) {
      this.view.status.textContent = this.texts.reconnecting;
      this.view.status.hidden = false;
    }
  }

  /**
   * Re-read the visitor's chat: its state (status, queue position, wait, rating), and with `full`
   * its latest messages too (shown once each). One read at a time; calls meanwhile make one more.
   */
  private refresh(full = false): Promise<void> {
    this.refreshFull ||= full;
    if (this.refreshing) {
      this.refreshAgain = true;
      return this.refreshing;
    }
    this.refreshing = (async () => {
      do {
        this.refreshAgain = false;
        const withMessages = this.refreshFull;
        this.refreshFull = false;
        const answer = await this.api.call<{ visitorChat: Chat | null }>(withMessages ? VISITOR_CHAT : CHAT_STATE)
          .catch(() => null);
        if (answer && this.forgotten(answer)) return;
        const chat = answer?.data?.visitorChat;
        if (chat && !withMessages && chat.id !== this.chat?.id) {
          this.refreshFull = this.refreshAgain = true; // a new conversation: its messages too
        } else if (answer?.data) {
          this.apply(chat || null);
        }
      } while (this.refreshAgain);
    })().finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  /** A token the server no longer knows: start over as a new visitor. */
  private forgotten(answer: { errors?: { extensions?: { code?: string } }[] }): boolean {
    if (answer.errors?.[0]?.extensions?.code !== "UNAUTHENTICATED") return false;
    this.stopEvents?.();
    this.stopEvents = null;
    this.api.token = null;
    this.saved = null;
    save(this.settings.channelId, null);
    this.view.showContact(true);
    return true;
  }

  private apply(chat: Chat | null): void {
    const v = this.view;
    if (chat && this.chat && chat.id !== this.chat.id) this.clear(); // a new conversation
    this.chat = chat;
    const language = spoken(chat?.openChannel?.language);
    if (language && language !== this.language) {
      this.language = language;
      this.texts = textsFor(language);
      v.label(this.texts);
    }
    if (!chat) return;
    if (chat.openChannel?.name) v.title.textContent = chat.openChannel.name;
    for (const edge of chat.messages?.edges || []) this.show(edge.node);
    const open = OPEN.has(chat.status);
    v.endButton.hidden = !open;
    v.attach.hidden = !open;
    const standing = this.standing?.chatId === chat.id ? this.standing : null;
    if (standing) {
      this.showQueue(chat.status === "QUEUED" && standing.queuePosition !== null,
                     standing.queuePosition, standing.estimatedWaitSeconds);
    } else {
      this.showQueue(chat.status === "QUEUED", chat.queuePosition, chat.estimatedWaitSeconds);
    }
    if (open) {
      this.followTyping(chat.id);
      this.followQueue(chat.id);
    } else {
      this.showTyping(null);
    }
    v.rating.hidden = !(chat.status === "CLOSED" && chat.openChannel?.ratingEnabled && !chat.rating
                        && this.saved?.endedChatId !== chat.id && chat.lastMessage?.authorKind === "SYSTEM");
    if (chat.status === "CLOSED" && !this.shown.has(`ended:${chat.id}`)) {
      this.shown.set(`ended:${chat.id}`, this.note(this.texts.ended));
    }
  }

  /** The place in the queue and the estimated wait while the chat waits (else the line goes). */
  private showQueue(waiting: boolean, position: number | null, wait: number | null): void {
    const v = this.view;
    if (waiting) {
      const parts = [position ? fill(this.texts.queued, { n: position }) : this.texts.waiting];
      if (wait !== null) parts.push(fill(this.texts.wait, { m: Math.max(1, Math.round(wait / 60)) }));
      v.status.textContent = parts.join(" ");
      v.status.hidden = false;
    } else if (v.status.textContent !== this.texts.reconnecting) {
      v.status.hidden = true;
    }
  }

  /** visitorQueue: the chat's standing as the queue moves (chats ahead answered, transfers,
   * priorities), which no event of the visitor's own chat tells. */
  private followQueue(chatId: string): void {
    if (this.queueChatId === chatId) return;
    this.stopQueue?.();
    this.queueChatId = chatId;
    this.standing = null;
    this.stopQueue = this.api.queue((status: QueueStatus) => {
      this.standing = status;
      if (status.chatId === this.chat?.id && this.chat.status === "QUEUED") {
        this.chat.queuePosition = status.queuePosition;
        this.chat.estimatedWaitSeconds = status.estimatedWaitSeconds;
        this.showQueue(status.queuePosition !== null, status.queuePosition, status.estimatedWaitSeconds);
      }
    });
  }

  private followTyping(chatId: string): void {
    if (this.typingChatId === chatId) return;
    this.stopTyping?.();
    this.typingChatId = chatId;
    this.stopTyping = this.api.typing(chatId, (event) => this.onTyping(event));
  }

  private onTyping(event: TypingEvent): void {
    if (event.authorKind !== "OPERATOR") return;
    this.showTyping(event.typing ? event.operator?.name || this.texts.operator : null);
  }

  private showTyping(name: string | null): void {
    window.clearTimeout(this.typingHide);
    this.view.typing.textContent = name ? fill(this.texts.typing, { name }) : "";
    if (name) this.typingHide = window.setTimeout(() => this.showTyping(null), TYPING_SHOWN_MS);
  }

  private clear(): void {
    for (const [, node] of this.shown) node.remove();
    this.shown.clear();
    this.stopTyping?.();
    this.stopTyping = null;
    this.typingChatId = null;
    this.stopQueue?.();
    this.stopQueue = null;
    this.queueChatId = null;
    this.standing = null;
  }

  /** A message in the log, once: shown again (edited, deleted) it is replaced in place. */
  private show(message: Message): void {
    const v = this.view;
    const who = message.authorKind === "CLIENT" ? this.texts.you
      : message.authorKind === "OPERATOR" ? message.author?.name || this.texts.operator : this.texts.system;
    const item = el("div", { class: `msg ${message.authorKind}`, "data-message-id": message.id });
    item.append(el("span", { class: message.authorKind === "SYSTEM" ? "who sr" : "who" }, who));
    const body = el("div", { class: "text" });
    if (message.deleted) body.textContent = this.texts.deleted;
    else renderMessage(body, message.html, message.text);
    item.append(body);
    if (message.attachments.length) {
      const files = el("span", { class: "files" });
      for (const file of message.attachments) {
        const href = safeUrl(file.url);
        const link = el("a", { download: file.name, target: "_blank", rel: "noopener noreferrer" },
                        icon("attach", 14), `${file.name} (${Math.ceil(file.size / 1024)} KB)`);
        if (href) link.href = href;
        files.append(link, " ");
      }
      item.append(files);
    }
    const time = new Date(message.createdAt);
    if (!isNaN(time.getTime())) {
      item.append(el("time", { class: "when", datetime: message.createdAt },
                     time.toLocaleTimeString(this.language, { hour: "2-digit", minute: "2-digit" })));
    }
    const before = this.shown.get(message.id);
    if (before) {
      before.replaceWith(item);
    } else {
      v.log.append(item);
      if (message.authorKind === "OPERATOR") this.showTyping(null);
      if (message.authorKind !== "CLIENT" && v.panel.hidden) {
        v.dot.hidden = false;
        v.label(this.texts);
      }
    }
    this.shown.set(message.id, item);
    v.log.scrollTop = v.log.scrollHeight;
  }

  private note(text: string): HTMLElement {
    const item = el("p", { class: "intro" }, text);
    this.view.log.append(item);
    this.view.log.scrollTop = this.view.log.scrollHeight;
    return item;
  }

  private fail(text: string | null): void {
    this.view.error.textContent = text || "";
  }
}

function isContactField(field: string[] | null): boolean {
  return field?.[0] === "input" && (field[1] === "name" || field[1] === "email");
}

/** The channel's widget settings; null when they cannot be read now (the widget then falls back on
 * the tag and the page); "unknown" for a channel the server does not have. */
async function channelSettings(api: Api, channelId: string): Promise<ChannelSettings | null | "unknown"> {
  try {
    const answer = await api.call<{ widgetSettings: ChannelSettings | null }>(SETTINGS, { id: channelId });
    if (answer.data && answer.data.widgetSettings === null) return "unknown";
    return answer.data?.widgetSettings || null;
  } catch {
    return null;
  }
}

function boot(): void {
  const script = (document.currentScript as HTMLScriptElement | null)
    || document.querySelector<HTMLScriptElement>("script[data-open-channel]");
  const settings = script && settingsOf(script);
  if (!settings) return;
  const marker = `openChannelsWidget:${settings.channelId}`;
  const registry = window as unknown as Record<string, unknown>;
  if (registry[marker]) return; // the tag twice on one page: one widget
  registry[marker] = true;
  const api = new Api(settings.httpUrl, settings.wsUrl);
  const channel = channelSettings(api, settings.channelId); // while the page loads
  const start = async () => {
    const found = await channel;
    if (found === "unknown") {
      console.warn(`Open Channels widget: no open channel ${settings.channelId} (data-open-channel)`);
      return;
    }
    new Widget(settings, api, found);
  };
  if (document.body) void start();
  else document.addEventListener("DOMContentLoaded", () => void start(), { once: true });
}

boot();
