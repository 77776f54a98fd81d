// Every string the widget shows, in Russian and English. The language comes from the
// inbox's setting (`locale` of the public inbox), else Parley.setLocale, else the page's
// <html lang>, else the browser (a later Parley.setLocale call still switches); anything that is not
// Russian reads English. Keys are the same in both dictionaries (a test checks it).

export const DICT = {
  en: {
    title: 'Chat with us',
    online: '{name} is online',
    onlineMany: '{name} and others are online',
    ask: 'Ask us anything, we are here to help.',
    replyTime: 'We usually reply {when}',
    in_a_few_minutes: 'in a few minutes',
    in_a_few_hours: 'in a few hours',
    in_a_day: 'in a day',
    offline: 'We are away right now',
    opensAt: 'We will be back {when}',
    // {when}: "at 09:30" today, else "on Thursday at 09:30" (atTime, onDayN).
    atTime: 'at {time}',
    onDay0: 'on Sunday',
    onDay1: 'on Monday',
    onDay2: 'on Tuesday',
    onDay3: 'on Wednesday',
    onDay4: 'on Thursday',
    onDay5: 'on Friday',
    onDay6: 'on Saturday',
    offlineIntro: 'Leave your question and contacts: we will answer as soon as we are back.',
    name: 'Your name',
    email: 'E-mail',
    phone: 'Phone',
    question: 'Your question',
    department: 'Department',
    attach: 'Attach a file',
    tooLarge: 'The file is too large',
    storageFull: 'Files cannot be accepted right now',
    anyDept: 'Any department',
    emailOrPhone: 'Leave an e-mail or a phone number',
    required: 'Please fill this in',
    badEmail: 'This does not look like an e-mail address',
    start: 'Start chat',
    send: 'Send',
    sendRequest: 'Send request',
    placeholder: 'Write a message…',
    requestSent: 'Thank you! We got your request and will reply {when} by e-mail or phone.',
    soon: 'soon',
    typing: '{name} is typing…',
    someone: 'Operator',
    you: 'You',
    sending: 'Sending…',
    sent: 'Sent',
    read: 'Read',
    failed: 'Not sent, will retry',
    resolved: 'This conversation is closed.',
    newChat: 'Start a new conversation',
    rate: 'How would you rate this conversation?',
    comment: 'Comment (optional)',
    submit: 'Submit',
    thanks: 'Thank you for your rating!',
    stars: '{n} of 5',
    close: 'Close chat',
    openChat: 'Open chat',
    hideButton: 'Hide the chat button',
    reconnecting: 'Connecting…',
    error: 'Something went wrong. Please try again.',
    identityRefused: 'Your identity could not be verified.',
    attachment: 'Attachment',
    today: 'Today',
    queue: 'You are number {n} in the queue',
    wait: 'expected wait about {m} min',
    hoursTitle: 'Working hours',
    hoursZone: 'Time: {zone}',
    dayClosed: 'closed',
    dayAllDay: 'around the clock',
  },
  ru: {
    title: 'Напишите нам',
    online: '{name} в сети',
    onlineMany: '{name} и другие в сети',
    ask: 'Задайте вопрос, мы поможем.',
    replyTime: 'Обычно отвечаем {when}',
    in_a_few_minutes: 'за несколько минут',
    in_a_few_hours: 'за несколько часов',
    in_a_day: 'в течение дня',
    offline: 'Сейчас мы не на связи',
    opensAt: 'Вернёмся {when}',
    atTime: 'в {time}',
    onDay0: 'в воскресенье',
    onDay1: 'в понедельник',
    onDay2: 'во вторник',
    onDay3: 'в среду',
    onDay4: 'в четверг',
    onDay5: 'в пятницу',
    onDay6: 'в субботу',
    offlineIntro: 'Оставьте вопрос и контакты: ответим, как только вернёмся.',
    name: 'Ваше имя',
    email: 'E-mail',
    phone: 'Телефон',
    question: 'Ваш вопрос',
    department: 'Отдел',
    attach: 'Прикрепить файл',
    tooLarge: 'Файл слишком большой',
    storageFull: 'Сейчас файлы не принимаются',
    anyDept: 'Любой отдел',
    emailOrPhone: 'Укажите e-mail или телефон',
    required: 'Заполните это поле',
    badEmail: 'Похоже, это не адрес e-mail',
    start: 'Начать чат',
    send: 'Отправить',
    sendRequest: 'Отправить заявку',
    placeholder: 'Напишите сообщение…',
    requestSent: 'Спасибо! Заявка получена, ответим {when} по e-mail или телефону.',
    soon: 'в ближайшее время',
    typing: '{name} печатает…',
    someone: 'Оператор',
    you: 'Вы',
    sending: 'Отправляется…',
    sent: 'Отправлено',
    read: 'Прочитано',
    failed: 'Не отправлено, повторим',
    resolved: 'Диалог завершён.',
    newChat: 'Начать новый диалог',
    rate: 'Как вы оцениваете этот диалог?',
    comment: 'Комментарий (необязательно)',
    submit: 'Отправить',
    thanks: 'Спасибо за оценку!',
    stars: '{n} из 5',
    close: 'Закрыть чат',
    openChat: 'Открыть чат',
    hideButton: 'Скрыть кнопку чата',
    reconnecting: 'Подключение…',
    error: 'Что-то пошло не так. Попробуйте ещё раз.',
    identityRefused: 'Не удалось подтвердить вашу личность.',
    attachment: 'Вложение',
    today: 'Сегодня',
    queue: 'Вы {n}-й в очереди',
    wait: 'ожидание около {m} мин',
    hoursTitle: 'Часы работы',
    hoursZone: 'Время: {zone}',
    dayClosed: 'выходной',
    dayAllDay: 'круглосуточно',
  },
};

/** `ru` for Russian locales, else `en`. */
export function pickLocale(tag) {
  return String(tag || '').toLowerCase().startsWith('ru') ? 'ru' : 'en';
}

let current = 'en';

export function setLocale(tag) {
  current = pickLocale(tag);
  return current;
}

export function locale() {
  return current;
}

/** The string `key` with `{name}` placeholders filled from `vars`. */
export function t(key, vars = {}) {
  const s = DICT[current][key] ?? DICT.en[key] ?? key;
  return s.replace(/\{(\w+)\}/g, (_, k) => (k in vars ? String(vars[k]) : ''));
}
