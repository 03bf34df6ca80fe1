// The Open Channels reference operator console, served at /console: sign in, my chats grouped as
// the operator's preferences say, the queues of my open channels, one chat at a time. Everything
// goes through the public GraphQL API beside it (../graphql relative to this script).
import { Api, Unauthenticated } from "./api";
import { ChatPane, type Directory } from "./chat";
import { button, el } from "./dom";
import {
  LOGIN, LOGOUT, MY_CHATS_CHANGED, QUEUE_CHANGED, SET_STATUS, WORKPLACE, type ChatEvent, type ChatSummary, type Workplace,
} from "./operations";

const REFRESH_MS = 150;
const ANNOUNCED_MS = 6000;

class Console {
  private readonly api: Api;
  private readonly status = el("p", { class: "announce", role: "status", "aria-live": "polite" });
  private readonly loginForm = el("form", { class: "login", "aria-labelledby": "login-title" });
  private readonly workplace = el("div", { class: "workplace", hidden: "" });
  private readonly who = el("span", { class: "who" });
  private readonly connection = el("span", { class: "connection", role: "status" });
  private readonly presence = el("select", { id: "presence", "aria-label": "My status" },
    ...["ONLINE", "AWAY", "OFFLINE"].map((status) => el("option", { value: status, text: status.toLowerCase() })));
  private readonly lists = el("nav", { class: "lists", "aria-label": "Chats" });
  private readonly pane: ChatPane;
  private data: Workplace | null = null;
  private stops: (() => void)[] = [];
  private refreshing: Promise<void> | null = null;
  private refreshAgain = false;
  private refreshTimer = 0;
  private sayTimer = 0;

  constructor(root: HTMLElement, graphqlUrl: string) {
    this.api = new Api(graphqlUrl, graphqlUrl.replace(/^http/, "ws"));
    this.api.onSignedOut = () => this.showLogin("Your session has ended: sign in again.");
    this.pane = new ChatPane(this.api, () => this.directory(), (text) => this.say(text), () => this.scheduleRefresh());
    this.buildLogin();
    this.presence.addEventListener("change", () => void this.setStatus(this.presence.value));
    this.workplace.append(
      el("header", { class: "top" }, el("h1", { text: "Open Channels console" }), this.connection, this.who,
         this.presence, button("Sign out", () => void this.signOut())),
      el("div", { class: "columns" }, this.lists, el("main", { class: "main" }, this.pane.root)));
    root.append(this.status, this.loginForm, this.workplace);
    if (this.api.token) void this.start();
    else this.showLogin();
  }

  private buildLogin(): void {
    const email = el("input", { id: "email", type: "email", autocomplete: "username", required: "" });
    const password = el("input", { id: "password", type: "password", autocomplete: "current-password", required: "" });
    this.loginForm.append(el("h1", { id: "login-title", text: "Sign in to the Open Channels console" }),
      el("label", { for: "email", text: "E-mail" }), email,
      el("label", { for: "password", text: "Password" }), password,
      el("button", { type: "submit" }, "Sign in"));
    this.loginForm.addEventListener("submit", (event) => {
      event.preventDefault();
      void (async () => {
        try {
          const payload = await this.api.mutate<{ token: string | null }>("login", LOGIN, {
            input: { email: email.value.trim(), password: password.value } });
          if (!payload.token) throw new Error("Sign-in failed.");
          password.value = "";
          this.api.signIn(payload.token);
          await this.start();
        } catch (error) {
          this.say((error as Error).message);
        }
      })();
    });
  }

  private showLogin(message = ""): void {
    this.stops.forEach((stop) => stop());
    this.stops = [];
    this.pane.close();
    this.data = null;
    this.connection.textContent = "";
    this.workplace.hidden = true;
    this.loginForm.hidden = false;
    this.say(message);
    (this.loginForm.querySelector("input") as HTMLInputElement).focus();
  }

  private async signOut(): Promise<void> {
    await this.api.call(LOGOUT).catch(() => undefined);
    this.api.signOut();
    this.showLogin("Signed out.");
  }

  /** The lists, then both subscriptions from the lists' eventCursor: whatever happens after the
   * query arrives as an event, and each event reads the lists again. */
  private async start(): Promise<void> {
    try {
      await this.refresh();
    } catch (error) {
      if (!(error instanceof Unauthenticated)) this.say((error as Error).message);
      return;
    }
    this.loginForm.hidden = true;
    this.workplace.hidden = false;
    this.say("");
    this.stops.push(this.api.onConnection((connected) => {
      this.connection.textContent = connected ? "" : "Reconnecting…";
    }));
    const after = this.data?.myChats.eventCursor || null;
    const onEvent = (event: ChatEvent) => {
      this.scheduleRefresh();
      if (event.chatId === this.pane.chatId) void this.pane.refresh().catch(() => undefined);
    };
    this.stops.push(this.api.events(MY_CHATS_CHANGED, "myChatsChanged", { after }, onEvent),
                    this.api.events(QUEUE_CHANGED, "queueChanged", { after }, onEvent));
  }

  /** ONLINE: chats are offered to me; AWAY: not (my offers pass on); OFFLINE: signed off work. */
  private async setStatus(status: string): Promise<void> {
    try {
      await this.api.mutate("setStatus", SET_STATUS, { input: { status } });
      this.say(`Status: ${status.toLowerCase()}.`);
    } catch (error) {
      this.say((error as Error).message);
    }
    this.scheduleRefresh();
  }

  private scheduleRefresh(): void {
    window.clearTimeout(this.refreshTimer);
    this.refreshTimer = window.setTimeout(() => void this.refresh().catch(() => undefined), REFRESH_MS);
  }

  /** One read of the lists at a time; events during it ask for one more after it. */
  private async refresh(): Promise<void> {
    if (this.refreshing) {
      this.refreshAgain = true;
      return this.refreshing;
    }
    this.refreshing = (async () => {
      do {
        this.refreshAgain = false;
        this.data = await this.api.call<Workplace>(WORKPLACE);
        this.renderLists(this.data);
      } while (this.refreshAgain);
    })();
    try {
      await this.refreshing;
    } finally {
      this.refreshing = null;
    }
  }

  private directory(): Directory {
    return { operators: this.data?.operators || [], channels: this.data?.openChannels || [],
             me: this.data?.me.operator || null };
  }

  private renderLists(data: Workplace): void {
    const { myChats, me } = data;
    this.who.textContent = me.operator.name;
    if (document.activeElement !== this.presence) this.presence.value = me.operator.status;
    const separately = me.preferences.showOpenChannelsSeparately;
    const active = separately ? myChats.active : [...myChats.active, ...myChats.internal];
    const groups: [string, ChatSummary[]][] = [["Offered to me", myChats.offered]];
    if (me.preferences.groupWaitingFirstResponse) groups.push(["Waiting for the first response", myChats.waitingFirstResponse]);
    groups.push(["Active", active]);
    const sections = [this.section(separately ? "Open channels" : "My chats", "my", groups)];
    if (separately) sections.push(this.section("Colleague chats", "internal", [["Colleague chats", myChats.internal]], false));
    sections.push(this.section("Queue", "queue", data.openChannels.map((channel) => [channel.name, channel.queuedChats])));
    const focused = document.activeElement instanceof HTMLElement ? document.activeElement.dataset.chatId : undefined;
    this.lists.replaceChildren(...sections);
    if (focused) this.lists.querySelector<HTMLElement>(`[data-chat-id="${CSS.escape(focused)}"]`)?.focus();
  }

  private section(title: string, key: string, groups: [string, ChatSummary[]][], headings = true): HTMLElement {
    const section = el("section", { class: `list ${key}`, "aria-labelledby": `list-${key}` },
                       el("h2", { id: `list-${key}`, text: title }));
    groups.forEach(([name, chats], index) => {
      const id = `group-${key}-${index}`;
      if (headings) section.append(el("h3", { id, text: `${name} (${chats.length})` }));
      const list = el("ul", { "aria-labelledby": headings ? id : `list-${key}`, "data-group": name });
      for (const chat of chats) list.append(el("li", {}, this.item(chat)));
      if (!chats.length) list.append(el("li", { class: "empty", text: "None" }));
      section.append(list);
    });
    return section;
  }

  private item(chat: ChatSummary): HTMLButtonElement {
    const open = () => void this.pane.open(chat.id).then(() => this.markCurrent()).catch((error) => this.say(error.message));
    const made = button("", open, { class: "chat-item", "data-chat-id": chat.id });
    made.append(el("span", { class: "title", text: `#${chat.number} ${chat.title}` }),
                el("span", { class: "sub", text: [chat.openChannel?.name, chat.pinned ? "pinned" : ""].filter(Boolean).join(" · ") }));
    if (chat.lastMessage) {
      made.append(el("span", { class: "last", text: `${chat.lastMessage.silent ? "Note: " : ""}${chat.lastMessage.text}` }));
    }
    if (chat.unreadCount) made.append(el("span", { class: "unread", text: `${chat.unreadCount} unread` }));
    if (chat.id === this.pane.chatId) made.setAttribute("aria-current", "true");
    return made;
  }

  private markCurrent(): void {
    this.lists.querySelectorAll<HTMLElement>(".chat-item").forEach((item) => {
      if (item.dataset.chatId === this.pane.chatId) item.setAttribute("aria-current", "true");
      else item.removeAttribute("aria-current");
    });
  }

  /** A short announcement (a status: read by screen readers), gone after a while. */
  private say(text: string): void {
    window.clearTimeout(this.sayTimer);
    this.status.textContent = text;
    if (text) this.sayTimer = window.setTimeout(() => (this.status.textContent = ""), ANNOUNCED_MS);
  }
}

const script = document.currentScript as HTMLScriptElement | null;
const root = document.getElementById("console");
if (script?.src && root) new Console(root, new URL("../graphql", script.src).href);
