//! The Telegram bot channel (Bot API): long polling or webhook in, sendMessage out.
