// The visitor's token and where their stream stands, in localStorage under a key of this
// channel: two widgets of two channels on one site keep two conversations. A token made for
// another signed-in visitor (data-external-id) is not reused.

export interface Saved {
  token: string;
  externalId: string | null;
  /** the chat the visitor ended themselves: nobody asks them to rate it */
  endedChatId?: string;
}

const key = (channelId: string) => `openchannels:widget:${channelId}`;

export function load(channelId: string, externalId: string | null): Saved | null {
  try {
    const saved = JSON.parse(localStorage.getItem(key(channelId)) || "null") as Saved | null;
    if (!saved || typeof saved.token !== "string") return null;
    return (saved.externalId || null) === externalId ? saved : null;
  } catch {
    return null; // storage disabled (private mode, sandboxed frame): the chat lasts as long as the page
  }
}

export function save(channelId: string, saved: Saved | null): void {
  try {
    if (saved) localStorage.setItem(key(channelId), JSON.stringify(saved));
    else localStorage.removeItem(key(channelId));
  } catch {
    // storage disabled: see load()
  }
}
