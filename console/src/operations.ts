// Every GraphQL operation the console sends, in one place: what a partner's console needs to ask.

export interface Person { id: string; name: string }
export interface Me extends Person { status: "ONLINE" | "AWAY" | "OFFLINE" }
export interface Attachment { id: string; name: string; url: string }
export interface Message {
  id: string; authorKind: "CLIENT" | "OPERATOR" | "SYSTEM"; text: string; html: string; silent: boolean;
  deleted: boolean; createdAt: string; author: Person | null; attachments: Attachment[];
}
export interface ChatSummary {
  id: string; number: number; title: string; status: "QUEUED" | "ACTIVE" | "CLOSED" | "SPAM"; pinned: boolean;
  unreadCount: number; openChannel: { id: string; name: string } | null; client: { name: string } | null;
  lastMessage: { text: string; silent: boolean } | null;
}
export interface Chat extends ChatSummary {
  eventCursor: string; waitingFirstResponse: boolean; operator: Person | null; offeredTo: Person[];
  messages: { edges: { node: Message }[] };
}
export interface MyChats {
  offered: ChatSummary[]; waitingFirstResponse: ChatSummary[]; active: ChatSummary[]; internal: ChatSummary[];
  eventCursor: string;
}
export interface Channel { id: string; name: string; queuedChats: ChatSummary[] }
export interface Workplace {
  me: { operator: Me; preferences: { showOpenChannelsSeparately: boolean; groupWaitingFirstResponse: boolean } };
  myChats: MyChats; openChannels: Channel[]; operators: Person[];
}
export interface ChatEvent { eventId: string; kind: string; chatId: string; message: Message | null }
export interface TypingEvent { chatId: string; authorKind: string; typing: boolean; operator: Person | null }
export interface CannedResponse { id: string; title: string; text: string }

const ERRORS = "userErrors { code message }";
const SUMMARY = `id number title status pinned unreadCount openChannel { id name } client { name }
  lastMessage { text silent }`;
const MESSAGE = "id authorKind text html silent deleted createdAt author { id name } attachments { id name url }";

export const LOGIN = `mutation ConsoleLogin($input: LoginInput!) { login(input: $input) { token ${ERRORS} } }`;
export const LOGOUT = "mutation ConsoleLogout { logout { revokedTokens } }";
/** The whole left side at once; myChats.eventCursor is where both subscriptions start. */
export const WORKPLACE = `query ConsoleWorkplace { me { operator { id name status } preferences { showOpenChannelsSeparately
  groupWaitingFirstResponse } } myChats { offered { ${SUMMARY} } waitingFirstResponse { ${SUMMARY} }
  active { ${SUMMARY} } internal { ${SUMMARY} } eventCursor }
  openChannels { id name queuedChats { ${SUMMARY} } } operators { id name } }`;
export const MY_CHATS_CHANGED = `subscription ConsoleMyChats($after: String) { myChatsChanged(after: $after) {
  eventId kind chatId } }`;
export const QUEUE_CHANGED = `subscription ConsoleQueue($after: String) { queueChanged(after: $after) {
  eventId kind chatId } }`;
export const CHAT = `query ConsoleChat($id: ID!) { chat(id: $id) { ${SUMMARY} eventCursor waitingFirstResponse
  operator { id name } offeredTo { id name } messages(last: 100) { edges { node { ${MESSAGE} } } } } }`;
export const CHAT_EVENTS = `subscription ConsoleChatEvents($chatId: ID!, $after: String) {
  chatEvents(chatId: $chatId, after: $after) { eventId kind chatId message { ${MESSAGE} } } }`;
export const TYPING_EVENTS = `subscription ConsoleTyping($chatId: ID) { typing(chatId: $chatId) {
  chatId authorKind typing operator { id name } } }`;
export const SET_TYPING = `mutation ConsoleSetTyping($input: SetTypingInput!) { setTyping(input: $input) }`;
export const SEND = `mutation ConsoleSend($input: SendMessageInput!) { sendMessage(input: $input) {
  message { ${MESSAGE} } ${ERRORS} } }`;
export const SET_STATUS = `mutation ConsoleStatus($input: SetStatusInput!) { setStatus(input: $input) {
  operator { id status } ${ERRORS} } }`;
export const CANNED = `query ConsoleCanned($openChannelId: ID) { cannedResponses(openChannelId: $openChannelId) {
  id title text } }`;

function chatMutation(field: string, input: string): string {
  return `mutation Console_${field}($input: ${input}!) { ${field}(input: $input) { chat { id status } ${ERRORS} } }`;
}
export const ANSWER = chatMutation("answerChat", "ChatInput");
export const SKIP = chatMutation("skipChat", "ChatInput");
export const TRANSFER = chatMutation("transferChat", "TransferChatInput");
export const FINISH = chatMutation("finishChat", "ChatInput");
export const SPAM = chatMutation("markChatSpam", "ChatInput");
export const PIN = chatMutation("pinChat", "PinChatInput");
export const READ = chatMutation("markChatRead", "ChatInput");
