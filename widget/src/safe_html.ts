// (The widget and the operator console both render with this module.)
// A message's formatting from the server's safe HTML (Message.html), rebuilt element by element:
// only the tags the server's renderer writes, links only to http(s), no attribute copied but
// href. The HTML is parsed in an inert document (DOMParser: nothing runs, nothing loads); a page
// that enforces Trusted Types refuses the parser, and the message then shows as plain text.

const TAGS = new Set(["B", "I", "U", "S", "EM", "STRONG", "DEL", "BLOCKQUOTE", "CODE", "PRE", "BR", "A", "SPAN"]);

export function renderMessage(target: HTMLElement, html: string, text: string): void {
  let body: HTMLElement;
  try {
    body = new DOMParser().parseFromString(`<!doctype html><body>${html}`, "text/html").body;
  } catch {
    target.textContent = text;
    return;
  }
  copy(body, target);
}

function copy(from: Node, to: Node): void {
  from.childNodes.forEach((node) => {
    if (node.nodeType === Node.TEXT_NODE) {
      to.appendChild(document.createTextNode(node.textContent || ""));
    } else if (node.nodeType === Node.ELEMENT_NODE) {
      const element = node as Element;
      if (!TAGS.has(element.tagName)) {
        to.appendChild(document.createTextNode(element.textContent || "")); // unknown: its text only
        return;
      }
      const made = document.createElement(element.tagName.toLowerCase());
      if (element.tagName === "A") {
        const href = safeUrl(element.getAttribute("href"));
        if (href) {
          made.setAttribute("href", href);
          made.setAttribute("target", "_blank");
          made.setAttribute("rel", "nofollow noopener noreferrer");
        }
      }
      copy(element, made);
      to.appendChild(made);
    }
  });
}

/** The URL if it is http(s), else null. */
export function safeUrl(url: string | null | undefined): string | null {
  if (!url) return null;
  try {
    const parsed = new URL(url);
    return parsed.protocol === "http:" || parsed.protocol === "https:" ? parsed.href : null;
  } catch {
    return null;
  }
}
