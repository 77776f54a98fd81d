//! Tests of the e-mail channel: fixture letters (MIME in), composing and threading (pure),
//! and the round trip against the real mail system of [`super::testing`].

mod bench;
mod fixtures;
mod live;
mod outgoing;
