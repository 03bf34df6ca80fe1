// The widget's elements, in a shadow root of their own (the page's CSS does not reach in, the
// widget's does not leak out). Styles go in through a constructed stylesheet
// (adoptedStyleSheets), which a Content-Security-Policy without 'unsafe-inline' allows: the
// page needs no style-src entry for the widget.
import type { ContactFields } from "./api";
import type { Texts } from "./texts";

const CSS = `
:host { all: initial; }
* { box-sizing: border-box; }
.launcher, .panel { font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
input, textarea, button { font: inherit; }
b, strong { font-weight: 700; }
[hidden] { display: none !important; }
.launcher { position: fixed; right: 20px; bottom: 20px; z-index: 2147483000; width: 56px; height: 56px;
  border-radius: 50%; border: 0; background: #1f6feb; color: #fff; cursor: pointer; font-size: 24px;
  box-shadow: 0 4px 14px rgba(0,0,0,.25); }
.launcher:focus-visible, button:focus-visible, textarea:focus-visible, input:focus-visible, a:focus-visible {
  outline: 3px solid #f59e0b; outline-offset: 2px; }
.launcher svg { display: block; margin: auto; }
button svg { vertical-align: middle; }
.launcher .dot { position: absolute; top: 6px; right: 6px; width: 12px; height: 12px; border-radius: 50%;
  background: #e5534b; border: 2px solid #fff; }
.panel { position: fixed; right: 20px; bottom: 88px; z-index: 2147483000; width: min(360px, calc(100vw - 40px));
  height: min(540px, calc(100vh - 110px)); display: flex; flex-direction: column; background: #fff; color: #1f2328;
  border-radius: 12px; box-shadow: 0 8px 30px rgba(0,0,0,.3); overflow: hidden; }
header { display: flex; align-items: center; gap: 8px; padding: 10px 12px; background: #1f6feb; color: #fff; }
header h2 { flex: 1; margin: 0; font-size: 16px; font-weight: 600; }
header button { background: transparent; color: #fff; border: 1px solid rgba(255,255,255,.6); border-radius: 6px;
  padding: 4px 8px; cursor: pointer; }
.status { padding: 6px 12px; background: #fff8c5; font-size: 13px; }
.log { flex: 1; overflow-y: auto; padding: 12px; display: flex; flex-direction: column; gap: 8px; }
.intro { color: #57606a; }
.msg { max-width: 85%; padding: 8px 10px; border-radius: 10px; background: #f0f2f5; overflow-wrap: anywhere; }
.msg.CLIENT { align-self: flex-end; background: #ddf4ff; }
.msg.SYSTEM { align-self: center; background: transparent; color: #57606a; font-style: italic; text-align: center; }
.msg .who { display: block; font-size: 12px; color: #57606a; }
.msg .when { display: block; font-size: 11px; color: #6e7781; text-align: right; }
.msg blockquote { margin: 4px 0; padding-left: 8px; border-left: 3px solid #d0d7de; }
.msg pre { white-space: pre-wrap; margin: 4px 0; }
.msg a { color: #0969da; }
.files { display: block; margin-top: 4px; }
.typing { padding: 0 12px; min-height: 20px; font-size: 12px; color: #57606a; }
form { margin: 0; }
.contact { display: flex; gap: 6px; padding: 8px 12px 0; }
.contact input { flex: 1; min-width: 0; }
input, textarea { border: 1px solid #8c959f; border-radius: 6px; padding: 6px 8px; color: inherit; background: #fff; }
.composer { display: flex; gap: 6px; padding: 8px 12px 12px; align-items: flex-end; }
.composer textarea { flex: 1; resize: none; height: 56px; }
.composer button, .rating button { border: 0; border-radius: 6px; padding: 8px 10px; background: #1f6feb; color: #fff;
  cursor: pointer; }
.composer .attach { background: #eaeef2; color: #1f2328; }
.rating { padding: 8px 12px; border-top: 1px solid #d0d7de; display: flex; flex-wrap: wrap; gap: 6px; align-items: center; }
.rating p { margin: 0; width: 100%; }
.rating button.vote { background: #eaeef2; color: #1f2328; }
.rating button[aria-pressed="true"] { background: #1f6feb; color: #fff; }
.rating input { flex: 1; }
.error { color: #cf222e; padding: 0 12px; font-size: 13px; }
.sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
`;

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {},
                                                    ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const made = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) made.setAttribute(name, value);
  made.append(...children);
  return made;
}

// Icons as SVG built in the DOM (no font or image to load; Material Icons' paths, Apache-2.0)
const ICONS = {
  chat: "M20 2H4a2 2 0 0 0-2 2v18l4-4h14a2 2 0 0 0 2-2V4a2 2 0 0 0-2-2z",
  attach: "M16.5 6v11.5a4 4 0 0 1-8 0V5a2.5 2.5 0 0 1 5 0v10.5a1 1 0 0 1-2 0V6H10v9.5a2.5 2.5 0 0 0 5 0V5a4 4 0 0 0-8 "
    + "0v12.5a5.5 5.5 0 0 0 11 0V6h-1.5z",
  like: "M1 21h4V9H1v12zm22-11c0-1.1-.9-2-2-2h-6.31l.95-4.57.03-.32c0-.41-.17-.79-.44-1.06L14.17 1 7.59 7.59C7.22 "
    + "7.95 7 8.45 7 9v10c0 1.1.9 2 2 2h9c.83 0 1.54-.5 1.84-1.22l3.02-7.05c.09-.23.14-.47.14-.73v-2z",
  dislike: "M15 3H6c-.83 0-1.54.5-1.84 1.22l-3.02 7.05c-.09.23-.14.47-.14.73v2c0 1.1.9 2 2 2h6.31l-.95 4.57-.03.32c0 "
    + ".41.17.79.44 1.06L9.83 23l6.59-6.59c.36-.36.58-.86.58-1.41V5c0-1.1-.9-2-2-2zm4 0v12h4V3h-4z",
};

export function icon(name: keyof typeof ICONS, size = 20): SVGSVGElement {
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("width", String(size));
  svg.setAttribute("height", String(size));
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
  path.setAttribute("d", ICONS[name]);
  path.setAttribute("fill", "currentColor");
  svg.append(path);
  return svg;
}

export class View {
  readonly host = el("div", { "data-open-channels-widget": "" });
  readonly root: ShadowRoot;
  readonly launcher = el("button", { class: "launcher", type: "button", "aria-expanded": "false",
                                     "aria-controls": "oc-panel", "aria-haspopup": "dialog" });
  readonly dot = el("span", { class: "dot", hidden: "" });
  readonly panel = el("div", { class: "panel", id: "oc-panel", role: "dialog", "aria-labelledby": "oc-title", hidden: "" });
  readonly title = el("h2", { id: "oc-title" });
  readonly endButton = el("button", { type: "button", class: "end", hidden: "" });
  readonly closeButton = el("button", { type: "button", class: "close" }, "×");
  readonly status = el("div", { class: "status", role: "status", hidden: "" });
  readonly log = el("div", { class: "log", role: "log", "aria-live": "polite", "aria-relevant": "additions" });
  readonly intro = el("p", { class: "intro" });
  readonly typing = el("div", { class: "typing", "aria-live": "polite" });
  readonly error = el("div", { class: "error", role: "alert" });
  readonly rating = el("form", { class: "rating", hidden: "" });
  readonly rateQuestion = el("p", { id: "oc-rate" });
  readonly like = el("button", { type: "button", class: "vote", "aria-pressed": "false", "data-vote": "LIKE" });
  readonly dislike = el("button", { type: "button", class: "vote", "aria-pressed": "false", "data-vote": "DISLIKE" });
  readonly comment = el("input", { type: "text", maxlength: "2000" });
  readonly rateButton = el("button", { type: "submit", disabled: "" });
  readonly contact = el("div", { class: "contact" });
  readonly name = el("input", { type: "text", autocomplete: "name", maxlength: "200" });
  readonly email = el("input", { type: "email", autocomplete: "email", maxlength: "254" });
  readonly form = el("form", { class: "composer" });
  readonly input = el("textarea", { rows: "2", maxlength: "10000" });
  readonly fileInput = el("input", { type: "file", hidden: "", tabindex: "-1", "aria-hidden": "true" });
  readonly attach = el("button", { type: "button", class: "attach", hidden: "" }, icon("attach"));
  readonly send = el("button", { type: "submit" });
  /** the channel is outside its working hours (the intro says so) */
  closedNow = false;
  private asked: ContactFields = "OPTIONAL";

  constructor(contact: ContactFields) {
    this.root = this.host.attachShadow({ mode: "open" });
    const sheet = styleSheet();
    if (sheet) this.root.adoptedStyleSheets = [sheet];
    else this.root.append(el("style", {}, CSS)); // browsers without constructed stylesheets (Safari < 16.4)
    this.contactFields(contact);
    this.launcher.append(icon("chat", 26), this.dot);
    this.log.append(this.intro);
    this.contact.append(this.name, this.email);
    this.form.append(this.contact, this.input, this.fileInput, this.attach, this.send);
    this.form.style.flexWrap = "wrap";
    this.contact.style.width = "100%";
    this.contact.style.padding = "0";
    this.rating.setAttribute("aria-labelledby", "oc-rate");
    this.rating.append(this.rateQuestion, this.like, this.dislike, this.comment, this.rateButton);
    this.panel.append(el("header", {}, this.title, this.endButton, this.closeButton), this.status, this.log,
                      this.typing, this.rating, this.error, this.form);
    this.root.append(this.launcher, this.panel);
  }

  /** What the channel asks before the first message: nothing, or name and e-mail (optional or required). */
  contactFields(asked: ContactFields): void {
    this.asked = asked;
    this.name.required = this.email.required = asked === "REQUIRED";
    if (asked === "NONE") this.showContact(false);
  }

  /** Name and e-mail before the first message only, if the channel asks (hidden, they are disabled: no
   * check blocks sending). */
  showContact(shown: boolean): void {
    const asked = shown && this.asked !== "NONE";
    this.contact.hidden = !asked;
    this.name.disabled = this.email.disabled = !asked;
  }

  label(t: Texts): void {
    this.launcher.setAttribute("aria-label", this.dot.hidden ? t.open : t.openUnread);
    if (!this.title.textContent) this.title.textContent = t.title; // the channel's name once known
    this.closeButton.setAttribute("aria-label", t.close);
    this.endButton.textContent = t.endChat;
    this.intro.textContent = this.closedNow ? `${t.intro} ${t.closedNow}` : t.intro;
    this.name.placeholder = this.name.required ? t.nameRequired : t.name;
    this.name.setAttribute("aria-label", this.name.placeholder);
    this.email.placeholder = this.email.required ? t.emailRequired : t.email;
    this.email.setAttribute("aria-label", this.email.placeholder);
    this.input.placeholder = t.message;
    this.input.setAttribute("aria-label", t.message);
    this.send.textContent = t.send;
    this.attach.setAttribute("aria-label", t.attach);
    this.attach.title = t.attach;
    this.rateQuestion.textContent = t.rate;
    this.like.replaceChildren(icon("like", 16), ` ${t.like}`);
    this.dislike.replaceChildren(icon("dislike", 16), ` ${t.dislike}`);
    this.comment.placeholder = t.comment;
    this.comment.setAttribute("aria-label", t.comment);
    this.rateButton.textContent = t.sendRating;
  }
}

let shared: CSSStyleSheet | null | undefined;

function styleSheet(): CSSStyleSheet | null {
  if (shared === undefined) {
    try {
      shared = new CSSStyleSheet();
      shared.replaceSync(CSS);
    } catch {
      shared = null;
    }
  }
  return shared;
}

export { el };
