// One open chat: its messages live (chatEvents from the chat's eventCursor: nothing lost between
// the query and the subscription), typing both ways, the composer with silent notes and canned
// responses, and the actions on the chat (answer, skip, transfer, finish, spam, pin).
import type { Api } from "./api";
import { button, el } from "./dom";
import {
  ANSWER, CANNED, CHAT, CHAT_EVENTS, FINISH, PIN, READ, SEND, SET_TYPING, SKIP, SPAM, TRANSFER, TYPING_EVENTS,
  type CannedResponse, type Chat, type ChatEvent, type Message, type Person, type TypingEvent,
} from "./operations";
import { renderMessage } from "../../widget/src/safe_html"; // the widget's renderer: one rule for what of a message may become HTML

const TYPING_SHOWN_MS = 6000;
const TYPING_REPEAT_MS = 2500;
const TYPING_IDLE_MS = 4000;

export interface Directory { operators: Person[]; channels: { id: string; name: string }[]; me: Person | null }

export class ChatPane {
  readonly root = el("section", { class: "chat", "aria-labelledby": "chat-title", hidden: "" });
  private readonly title = el("h2", { id: "chat-title" });
  private readonly meta = el("p", { class: "meta" });
  private readonly answerButton = button("Answer", () => void this.act(ANSWER, "answerChat"));
  private readonly skipButton = button("Skip", () => void this.act(SKIP, "skipChat"));
  private readonly finishButton = button("Finish", () => void this.act(FINISH, "finishChat"));
  private readonly spamButton = button("Spam", () => void this.act(SPAM, "markChatSpam"));
  private readonly pinButton = button("Pin", () => void this.act(PIN, "pinChat", { pinned: !this.chat?.pinned }),
                                      { "aria-pressed": "false" });
  private readonly transferTo = el("select", { id: "transfer-to" });
  private readonly transferForm = el("form", { class: "transfer" },
    el("label", { for: "transfer-to", text: "Transfer to" }), this.transferTo, el("button", { type: "submit" }, "Transfer"));
  private readonly log = el("ol", { class: "log", role: "log", "aria-live": "polite", "aria-label": "Messages" });
  private readonly typing = el("p", { class: "typing", role: "status", "aria-live": "polite" });
  private readonly canned = el("select", { id: "canned", "aria-label": "Canned response" });
  private readonly insertButton = button("Insert", () => this.insertCanned());
  private readonly input = el("textarea", { id: "composer", rows: "3", "aria-label": "Message",
                                            placeholder: "Write a reply (Enter sends, Shift+Enter: new line)" });
  private readonly silent = el("input", { type: "checkbox", id: "silent" });
  private readonly composer = el("form", { class: "composer" },
    el("div", { class: "canned" }, el("label", { for: "canned", text: "Canned responses" }), this.canned, this.insertButton),
    this.input,
    el("div", { class: "send" }, el("label", {}, this.silent, " Silent note (operators only)"),
       el("button", { type: "submit" }, "Send")));
  private chat: Chat | null = null;
  private readonly shown = new Map<string, HTMLElement>();
  private stops: (() => void)[] = [];
  private cannedTexts = new Map<string, string>();
  private typingHide = 0;
  private typingSentAt = 0;
  private typingIdle = 0;
  /** Counts open() calls: only the latest one shows its chat. */
  private opening = 0;

  constructor(private readonly api: Api, private readonly directory: () => Directory,
              private readonly say: (text: string) => void, private readonly changed: () => void) {
    this.root.append(
      el("header", {}, this.title, this.meta),
      el("div", { class: "actions", role: "toolbar", "aria-label": "Chat actions" },
         this.answerButton, this.skipButton, this.finishButton, this.spamButton, this.pinButton),
      this.transferForm, this.log, this.typing, this.composer);
    this.transferForm.addEventListener("submit", (event) => {
      event.preventDefault();
      void this.transfer();
    });
    this.composer.addEventListener("submit", (event) => {
      event.preventDefault();
      void this.send();
    });
    this.input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.composer.requestSubmit();
      }
    });
    this.input.addEventListener("input", () => this.typed());
  }

  get chatId(): string | null {
    return this.chat?.id || null;
  }

  async open(chatId: string): Promise<void> {
    this.close();
    const ticket = ++this.opening;
    const { chat } = await this.api.call<{ chat: Chat | null }>(CHAT, { id: chatId });
    if (ticket !== this.opening) return; // another chat was opened meanwhile
    if (!chat) return this.say("This chat is no longer visible to you.");
    this.chat = chat;
    this.root.hidden = false;
    this.log.replaceChildren();
    this.shown.clear();
    this.input.value = "";
    this.silent.checked = false;
    this.typing.textContent = "";
    this.render(chat);
    chat.messages.edges.forEach(({ node }) => this.show(node));
    this.stops.push(this.api.events<ChatEvent>(CHAT_EVENTS, "chatEvents", { chatId, after: chat.eventCursor },
                                               (event) => this.onEvent(event)));
    this.stops.push(this.api.live<TypingEvent>(TYPING_EVENTS, "typing", { chatId }, (event) => this.onTyping(event)));
    void this.loadCanned(chat.openChannel?.id || null);
    if (chat.unreadCount) void this.api.call(READ, { input: { chatId } }).catch(() => undefined);
    this.title.focus();
  }

  close(): void {
    this.stops.forEach((stop) => stop());
    this.stops = [];
    this.stopTypingSignal();
    this.chat = null;
    this.root.hidden = true;
  }

  /** The chat's state again (status, pin, operator) after an event of its own or of the lists. */
  async refresh(): Promise<void> {
    if (!this.chat) return;
    const { chat } = await this.api.call<{ chat: Chat | null }>(CHAT, { id: this.chat.id });
    if (!chat || chat.id !== this.chat?.id) return;
    this.chat = chat;
    this.render(chat);
    chat.messages.edges.forEach(({ node }) => this.show(node));
  }

  private render(chat: Chat): void {
    const open = chat.status === "QUEUED" || chat.status === "ACTIVE";
    const mine = chat.operator?.id === this.directory().me?.id;
    this.title.textContent = `#${chat.number} ${chat.title}`;
    this.title.tabIndex = -1;
    this.meta.textContent = [
      { QUEUED: "Waiting in the queue", ACTIVE: "Active", CLOSED: "Finished", SPAM: "Finished as spam" }[chat.status],
      chat.openChannel ? `Channel: ${chat.openChannel.name}` : "Colleague chat",
      chat.operator ? `Operator: ${chat.operator.name}` : "",
      chat.pinned ? "Pinned" : "",
      chat.waitingFirstResponse && chat.status === "ACTIVE" ? "Waiting for the first response" : "",
    ].filter(Boolean).join(" · ");
    this.answerButton.disabled = chat.status !== "QUEUED";
    this.skipButton.disabled = chat.status !== "QUEUED";
    this.finishButton.disabled = !open;
    this.spamButton.disabled = !open || !chat.openChannel;
    this.pinButton.disabled = chat.status !== "ACTIVE" || !mine;
    this.pinButton.textContent = chat.pinned ? "Unpin" : "Pin";
    this.pinButton.setAttribute("aria-pressed", String(chat.pinned));
    for (const part of [...this.transferForm.elements, ...this.composer.elements]) {
      (part as HTMLButtonElement).disabled = !open;
    }
    const { operators, channels, me } = this.directory();
    const chosen = this.transferTo.value;
    this.transferTo.replaceChildren(
      el("optgroup", { label: "Operators" },
         ...operators.filter((operator) => operator.id !== me?.id)
           .map((operator) => el("option", { value: `operator:${operator.id}`, text: operator.name }))),
      el("optgroup", { label: "Open channels" },
         ...channels.map((channel) => el("option", { value: `channel:${channel.id}`, text: channel.name }))));
    if (chosen) this.transferTo.value = chosen;
  }

  private onEvent(event: ChatEvent): void {
    if (event.chatId !== this.chat?.id) return;
    if (event.message) {
      this.show(event.message);
      if (event.message.authorKind !== "SYSTEM") this.typing.textContent = ""; // a message ends its typing
    }
    if (event.kind !== "MESSAGE_ADDED") void this.refresh();
    if (event.kind === "CHAT_REMOVED") this.say("This chat left your list.");
  }

  /** A message in its place: once, updated in place when edited or deleted. */
  private show(message: Message): void {
    const item = el("li", { class: `msg ${message.authorKind}${message.silent ? " silent" : ""}`,
                            "data-message-id": message.id });
    const who = message.authorKind === "OPERATOR" ? message.author?.name || "Operator"
      : message.authorKind === "CLIENT" ? this.chat?.client?.name || "Visitor" : "System";
    item.append(el("span", { class: "who" }, who));
    if (message.silent) item.append(el("span", { class: "badge", text: "Silent note" }));
    const text = el("div", { class: "text" });
    if (message.deleted) text.textContent = "Message deleted";
    else renderMessage(text, message.html, message.text);
    item.append(text);
    for (const file of message.attachments) {
      const href = httpUrl(file.url);
      item.append(href ? el("a", { href, target: "_blank", rel: "noopener noreferrer", text: file.name })
                       : el("span", { text: file.name }));
    }
    item.append(el("time", { datetime: message.createdAt, text: new Date(message.createdAt).toLocaleTimeString() }));
    const before = this.shown.get(message.id);
    if (before) before.replaceWith(item);
    else this.log.append(item);
    this.shown.set(message.id, item);
    this.log.scrollTop = this.log.scrollHeight;
  }

  private onTyping(event: TypingEvent): void {
    window.clearTimeout(this.typingHide);
    if (!event.typing) {
      this.typing.textContent = "";
      return;
    }
    const who = event.authorKind === "CLIENT" ? this.chat?.client?.name || "The visitor" : event.operator?.name || "A colleague";
    this.typing.textContent = `${who} is typing…`;
    this.typingHide = window.setTimeout(() => (this.typing.textContent = ""), TYPING_SHOWN_MS);
  }

  /** "I am typing" at most every 2.5 s while keys come, "stopped" after 4 s without one. */
  private typed(): void {
    if (!this.chat) return;
    const chatId = this.chat.id, silent = this.silent.checked;
    window.clearTimeout(this.typingIdle);
    if (Date.now() - this.typingSentAt > TYPING_REPEAT_MS) {
      this.typingSentAt = Date.now();
      void this.api.call(SET_TYPING, { input: { chatId, typing: true, silent } }).catch(() => undefined);
    }
    this.typingIdle = window.setTimeout(() => {
      this.typingSentAt = 0;
      void this.api.call(SET_TYPING, { input: { chatId, typing: false, silent } }).catch(() => undefined);
    }, TYPING_IDLE_MS);
  }

  private stopTypingSignal(): void {
    window.clearTimeout(this.typingIdle);
    this.typingSentAt = 0;
  }

  private async send(): Promise<void> {
    const text = this.input.value.trim();
    if (!text || !this.chat) return;
    try {
      const payload = await this.api.mutate<{ message: Message | null }>("sendMessage", SEND, {
        input: { chatId: this.chat.id, text, silent: this.silent.checked } });
      this.stopTypingSignal();
      this.input.value = "";
      if (payload.message) this.show(payload.message);
      this.changed();
    } catch (error) {
      this.say(String((error as Error).message));
    }
  }

  private async act(query: string, field: string, extra: Record<string, unknown> = {}): Promise<void> {
    if (!this.chat) return;
    try {
      await this.api.mutate(field, query, { input: { chatId: this.chat.id, ...extra } });
      this.say({ answerChat: "Answered.", skipChat: "Skipped.", finishChat: "Finished.", markChatSpam: "Marked as spam.",
                 pinChat: extra.pinned ? "Pinned." : "Unpinned.", transferChat: "Transferred." }[field] || "Done.");
      await this.refresh();
      this.changed();
    } catch (error) {
      this.say(String((error as Error).message));
    }
  }

  private async transfer(): Promise<void> {
    const [kind, id] = this.transferTo.value.split(":");
    if (!id) return;
    await this.act(TRANSFER, "transferChat", kind === "operator" ? { operatorId: id } : { openChannelId: id });
  }

  private async loadCanned(openChannelId: string | null): Promise<void> {
    const { cannedResponses } = await this.api.call<{ cannedResponses: CannedResponse[] }>(CANNED, { openChannelId });
    this.cannedTexts = new Map(cannedResponses.map((canned) => [canned.id, canned.text]));
    this.canned.replaceChildren(...cannedResponses.map((canned) => el("option", { value: canned.id, text: canned.title })));
    this.canned.disabled = this.insertButton.disabled = !cannedResponses.length || !(this.chat?.status === "QUEUED" || this.chat?.status === "ACTIVE");
  }

  /** The canned response's text into the composer at the caret (as written: its placeholders stay as they are). */
  private insertCanned(): void {
    const text = this.cannedTexts.get(this.canned.value);
    if (!text) return;
    this.input.setRangeText(text, this.input.selectionStart, this.input.selectionEnd, "end");
    this.input.focus();
    this.typed();
  }
}

function httpUrl(url: string): string | null {
  try {
    const parsed = new URL(url, location.href);
    return parsed.protocol === "http:" || parsed.protocol === "https:" ? parsed.href : null;
  } catch {
    return null;
  }
}
