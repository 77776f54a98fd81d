//! Closed vocabularies of the domain. Each enum knows its stored form (a small integer
//! or a short string) and its wire name, so neither the store nor the API invents its own.

use serde::{Deserialize, Serialize};

macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $wire:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $(#[serde(rename = $wire)] $variant),+
        }

        impl $name {
            /// All values, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The wire and storage name.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $wire),+ }
            }

            /// Parses the wire name; `None` for anything else.
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($wire => Some($name::$variant),)+ _ => None }
            }

            /// The accepted wire names, for error messages.
            pub fn expected() -> String {
                [$($wire),+].join(", ")
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

string_enum!(
    /// A user's role inside one account.
    Role { Administrator = "administrator", Supervisor = "supervisor", Agent = "agent" }
);

impl Role {
    /// Administrators configure the account; supervisors see everything but do not configure.
    pub fn sees_all_inboxes(self) -> bool {
        matches!(self, Role::Administrator | Role::Supervisor)
    }
}

string_enum!(
    /// Conversation lifecycle; `snoozed` and `resolved` stop counting against capacity.
    ConversationStatus { Open = "open", Resolved = "resolved", Pending = "pending", Snoozed = "snoozed" }
);

string_enum!(
    /// Conversation priority, Chatwoot's names; `none` is stored as NULL.
    Priority { Urgent = "urgent", High = "high", Medium = "medium", Low = "low", None = "none" }
);

string_enum!(
    /// Who a message is from and where it goes. Chatwoot sends these as integers 0..3 in
    /// message objects and accepts the names in requests.
    MessageType { Incoming = "incoming", Outgoing = "outgoing", Activity = "activity", Template = "template" }
);

impl MessageType {
    /// The integer Chatwoot uses in message objects.
    pub fn code(self) -> i64 {
        match self {
            MessageType::Incoming => 0,
            MessageType::Outgoing => 1,
            MessageType::Activity => 2,
            MessageType::Template => 3,
        }
    }

    /// Inverse of [`MessageType::code`].
    pub fn from_code(code: i64) -> Option<Self> {
        Self::ALL.iter().copied().find(|t| t.code() == code)
    }
}

string_enum!(
    /// Delivery state of a message: Chatwoot's `sent`, `delivered`, `read` and `failed`,
    /// plus Parley's `progress` — an outgoing message of an external channel (Telegram,
    /// e-mail) that its provider has not accepted yet. Such a message becomes `sent` only
    /// when the provider accepted it, or `failed` with the provider's reason.
    MessageStatus { Progress = "progress", Sent = "sent", Delivered = "delivered", Read = "read", Failed = "failed" }
);

string_enum!(
    /// Kinds of message content Chatwoot defines; Parley renders `text` and treats the rest
    /// as structured content carried in `content_attributes`.
    ContentType {
        Text = "text",
        InputText = "input_text",
        InputTextarea = "input_textarea",
        InputEmail = "input_email",
        InputSelect = "input_select",
        Cards = "cards",
        Form = "form",
        Article = "article",
        IncomingEmail = "incoming_email",
        InputCsat = "input_csat",
    }
);

string_enum!(
    /// Channel behind an inbox, with Chatwoot's `channel_type` names.
    ChannelType {
        WebWidget = "Channel::WebWidget",
        Api = "Channel::Api",
        Telegram = "Channel::Telegram",
        Email = "Channel::Email",
    }
);

impl ChannelType {
    /// The short name Chatwoot accepts in `channel.type` when creating an inbox.
    pub fn short(self) -> &'static str {
        match self {
            ChannelType::WebWidget => "web_widget",
            ChannelType::Api => "api",
            ChannelType::Telegram => "telegram",
            ChannelType::Email => "email",
        }
    }

    /// Whether an agent's reply leaves through a provider (Telegram, e-mail) rather than
    /// being read by the contact from Parley itself (widget, API): such replies go through
    /// the outbox and are `sent` only once the provider accepted them.
    pub fn delivers_through_provider(self) -> bool {
        matches!(self, ChannelType::Telegram | ChannelType::Email)
    }

    /// Parses either the short or the full name.
    pub fn parse_any(s: &str) -> Option<Self> {
        Self::parse(s).or_else(|| Self::ALL.iter().copied().find(|c| c.short() == s))
    }
}

string_enum!(
    /// Agent availability as Chatwoot names it.
    Availability { Online = "online", Busy = "busy", Offline = "offline" }
);

string_enum!(
    /// File kinds of attachments, from the MIME type.
    FileType { Image = "image", Audio = "audio", Video = "video", File = "file" }
);

impl FileType {
    /// Classifies a MIME type.
    pub fn from_mime(mime: &str) -> Self {
        match mime.split('/').next().unwrap_or("") {
            "image" => FileType::Image,
            "audio" => FileType::Audio,
            "video" => FileType::Video,
            _ => FileType::File,
        }
    }
}

string_enum!(
    /// Filter of the conversation list by assignee, Chatwoot's `assignee_type`.
    AssigneeFilter { Me = "me", Unassigned = "unassigned", Assigned = "assigned", All = "all" }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_round_trip() {
        for s in ConversationStatus::ALL {
            assert_eq!(ConversationStatus::parse(s.as_str()), Some(*s));
        }
        assert_eq!(MessageType::from_code(1), Some(MessageType::Outgoing));
        assert_eq!(ChannelType::parse_any("api"), Some(ChannelType::Api));
        assert_eq!(
            ChannelType::parse_any("Channel::WebWidget"),
            Some(ChannelType::WebWidget)
        );
        assert_eq!(Role::parse("owner"), None);
        assert_eq!(FileType::from_mime("image/png"), FileType::Image);
        assert_eq!(FileType::from_mime("application/pdf"), FileType::File);
    }
}
