//! The e-mail channel: IMAP in, SMTP out, MIME and threading.
