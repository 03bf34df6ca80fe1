// The widget's own texts in the languages the server has system texts for (es, en, pt).
// System messages (welcome, after-hours, no-answer, rating request) come from the server,
// already in the channel's language.

export type Texts = typeof en;

const en = {
  open: "Chat with us",
  openUnread: "Chat with us (new messages)",
  close: "Close the chat window",
  title: "Chat",
  intro: "Write to us: an operator will answer here.",
  closedNow: "We are away right now: leave your message and we will answer when we are back.",
  name: "Name (optional)",
  email: "E-mail (optional)",
  nameRequired: "Name",
  emailRequired: "E-mail",
  contactRequired: "Please give your name and e-mail.",
  message: "Your message",
  send: "Send",
  attach: "Send a file",
  endChat: "End chat",
  ended: "The chat has ended. Write again to start a new one.",
  queued: "You are number {n} in the queue.",
  wait: "Estimated wait: about {m} min.",
  waiting: "Waiting for an operator…",
  typing: "{name} is typing…",
  operator: "The operator",
  you: "You",
  system: "Message",
  rate: "How was this chat?",
  like: "Good",
  dislike: "Bad",
  comment: "Comment (optional)",
  sendRating: "Send rating",
  thanks: "Thank you for your rating.",
  failed: "That did not work. Please try again.",
  reconnecting: "Reconnecting…",
  deleted: "Message deleted",
  file: "File",
};

const es: Texts = {
  open: "Chatea con nosotros",
  openUnread: "Chatea con nosotros (mensajes nuevos)",
  close: "Cerrar la ventana del chat",
  title: "Chat",
  intro: "Escríbenos: un operador te responderá aquí.",
  closedNow: "Ahora no estamos: deja tu mensaje y te responderemos a la vuelta.",
  name: "Nombre (opcional)",
  email: "Correo electrónico (opcional)",
  nameRequired: "Nombre",
  emailRequired: "Correo electrónico",
  contactRequired: "Indica tu nombre y tu correo electrónico.",
  message: "Tu mensaje",
  send: "Enviar",
  attach: "Enviar un archivo",
  endChat: "Terminar el chat",
  ended: "El chat ha terminado. Escribe de nuevo para empezar otro.",
  queued: "Eres el número {n} en la cola.",
  wait: "Espera estimada: unos {m} min.",
  waiting: "Esperando a un operador…",
  typing: "{name} está escribiendo…",
  operator: "El operador",
  you: "Tú",
  system: "Mensaje",
  rate: "¿Qué te ha parecido este chat?",
  like: "Bien",
  dislike: "Mal",
  comment: "Comentario (opcional)",
  sendRating: "Enviar valoración",
  thanks: "Gracias por tu valoración.",
  failed: "No ha funcionado. Inténtalo de nuevo.",
  reconnecting: "Reconectando…",
  deleted: "Mensaje eliminado",
  file: "Archivo",
};

const pt: Texts = {
  open: "Fale conosco",
  openUnread: "Fale conosco (novas mensagens)",
  close: "Fechar a janela do chat",
  title: "Chat",
  intro: "Escreva para nós: um atendente responderá aqui.",
  closedNow: "Não estamos agora: deixe sua mensagem e responderemos quando voltarmos.",
  name: "Nome (opcional)",
  email: "E-mail (opcional)",
  nameRequired: "Nome",
  emailRequired: "E-mail",
  contactRequired: "Informe seu nome e e-mail.",
  message: "Sua mensagem",
  send: "Enviar",
  attach: "Enviar um arquivo",
  endChat: "Encerrar o chat",
  ended: "O chat foi encerrado. Escreva de novo para iniciar outro.",
  queued: "Você é o número {n} na fila.",
  wait: "Espera estimada: cerca de {m} min.",
  waiting: "Aguardando um atendente…",
  typing: "{name} está digitando…",
  operator: "O atendente",
  you: "Você",
  system: "Mensagem",
  rate: "Como foi este chat?",
  like: "Bom",
  dislike: "Ruim",
  comment: "Comentário (opcional)",
  sendRating: "Enviar avaliação",
  thanks: "Obrigado pela sua avaliação.",
  failed: "Não funcionou. Tente de novo.",
  reconnecting: "Reconectando…",
  deleted: "Mensagem apagada",
  file: "Arquivo",
};

const CATALOG: Record<string, Texts> = { en, es, pt };

/** The language of an IETF tag the widget speaks ("pt-BR" -> "pt"), or null. */
export function spoken(tag: string | null | undefined): string | null {
  const language = (tag || "").trim().toLowerCase().split(/[-_]/)[0];
  return language in CATALOG ? language : null;
}

export function textsFor(language: string): Texts {
  return CATALOG[spoken(language) || "en"];
}

/** "{n} in the queue" with n filled in. */
export function fill(text: string, values: Record<string, string | number>): string {
  return text.replace(/\{(\w+)\}/g, (whole, key: string) => (key in values ? String(values[key]) : whole));
}
