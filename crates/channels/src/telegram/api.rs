//! A small Bot API client: the calls Parley makes, with the failure of each call told
//! apart as the outbox needs it (rate limit with `retry_after`, a permanent refusal, a
//! network or server problem).

use std::time::Duration;

use parley_service::http_client::{HttpClient, HttpError, Multipart, Request, Response};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::types::{Envelope, File, Message, Update, User};

/// Why a Bot API call failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiError {
    /// 429: too many requests; wait `retry_after` seconds.
    #[error("Telegram rate limit (retry after {retry_after} s): {description}")]
    RateLimited {
        retry_after: u64,
        description: String,
    },
    /// Telegram refused the call itself (400 bad request, 401 bad token, 403 the user
    /// blocked the bot, 404 unknown method or token): another attempt cannot succeed.
    #[error("Telegram refused ({code}): {description}")]
    Refused { code: i64, description: String },
    /// The network, a timeout, a 5xx or an unreadable answer: another attempt may succeed.
    #[error("Telegram unavailable: {0}")]
    Unavailable(String),
}

impl ApiError {
    /// Whether the bot token itself was refused.
    pub fn is_bad_token(&self) -> bool {
        matches!(
            self,
            ApiError::Refused {
                code: 401 | 404,
                ..
            }
        )
    }
}

/// The largest Bot API answer read (100 updates of long messages fit many times over).
const MAX_ANSWER_BYTES: u64 = 16 * 1024 * 1024;

/// Whether `s` is a `type/subtype` media type (parameters allowed), as a multipart part's
/// `Content-Type` needs.
fn is_media_type(s: &str) -> bool {
    let essence = s.split(';').next().unwrap_or("").trim();
    let token = |t: &str| {
        !t.is_empty()
            && t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
    };
    matches!(essence.split_once('/'), Some((a, b)) if token(a) && token(b))
        && !s.contains(['\r', '\n'])
}

/// A file to upload (`sendPhoto`, `sendDocument`).
pub struct UploadFile {
    pub name: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// The Bot API at `base` (https://api.telegram.org, or a test's local server).
#[derive(Clone)]
pub struct BotApi {
    http: HttpClient,
    base: String,
    timeout: Duration,
}

impl BotApi {
    /// A client of the Bot API at `base`; `timeout` bounds every call except long polls,
    /// which get their own poll time on top.
    pub fn new(base: &str, timeout: Duration) -> Result<Self, ApiError> {
        Ok(Self {
            http: HttpClient::new(timeout, "Parley"),
            base: base.trim_end_matches('/').to_string(),
            timeout,
        })
    }

    fn url(&self, token: &str, method: &str) -> String {
        format!("{}/bot{token}/{method}", self.base)
    }

    /// Sends a request; the error text never contains the token (it is in the URL).
    async fn send(
        &self,
        token: &str,
        req: Request,
        timeout: Duration,
    ) -> Result<Response, ApiError> {
        self.http
            .send_within(req, timeout)
            .await
            .map_err(|e| ApiError::Unavailable(without_token(&e.to_string(), token)))
    }

    async fn answer<T: DeserializeOwned>(mut res: Response) -> Result<T, ApiError> {
        let status = res.status;
        let body = res
            .bytes(MAX_ANSWER_BYTES)
            .await
            .map_err(|e| ApiError::Unavailable(e.to_string()))?;
        let env: Envelope = match serde_json::from_slice(&body) {
            Ok(e) => e,
            Err(_) if status >= 500 || status == 429 => {
                return Err(ApiError::Unavailable(format!("HTTP {status}")));
            }
            Err(e) => {
                return Err(ApiError::Unavailable(format!(
                    "HTTP {status}, unreadable answer: {e}"
                )));
            }
        };
        if env.ok {
            let result = env.result.unwrap_or(Value::Null);
            return serde_json::from_value(result)
                .map_err(|e| ApiError::Unavailable(format!("unexpected answer: {e}")));
        }
        let code = env.error_code.unwrap_or(i64::from(status));
        let description = env.description.unwrap_or_else(|| format!("HTTP {status}"));
        let description: String = description.chars().take(500).collect();
        Err(match code {
            429 => ApiError::RateLimited {
                retry_after: env.parameters.and_then(|p| p.retry_after).unwrap_or(1),
                description,
            },
            400 | 401 | 403 | 404 => ApiError::Refused { code, description },
            _ => ApiError::Unavailable(format!("{code}: {description}")),
        })
    }

    async fn call<T: DeserializeOwned>(
        &self,
        token: &str,
        method: &str,
        params: Value,
    ) -> Result<T, ApiError> {
        let req = Request::post(
            self.url(token, method),
            "application/json",
            params.to_string(),
        );
        let res = self.send(token, req, self.timeout).await?;
        Self::answer(res).await
    }

    /// `getMe`: the bot behind a token.
    pub async fn get_me(&self, token: &str) -> Result<User, ApiError> {
        self.call(token, "getMe", json!({})).await
    }

    /// `getUpdates` from `offset`, waiting up to `timeout` for the first one.
    pub async fn get_updates(
        &self,
        token: &str,
        offset: i64,
        timeout: Duration,
    ) -> Result<Vec<Update>, ApiError> {
        let params = json!({
            "offset": offset,
            "timeout": timeout.as_secs(),
            "allowed_updates": ["message", "edited_message"],
        });
        let req = Request::post(
            self.url(token, "getUpdates"),
            "application/json",
            params.to_string(),
        );
        let res = self
            .send(token, req, timeout + Duration::from_secs(15))
            .await?;
        // Updates are read one by one, so a single unreadable update (a shape Parley does
        // not know) is skipped instead of blocking the bot forever.
        let raw: Vec<Value> = Self::answer(res).await?;
        Ok(raw
            .into_iter()
            .filter_map(|u| match serde_json::from_value::<Update>(u.clone()) {
                Ok(u) => Some(u),
                Err(e) => {
                    tracing::warn!(error = %e, "unreadable Telegram update skipped");
                    u.get("update_id").and_then(Value::as_i64).map(|id| Update {
                        update_id: id,
                        message: None,
                        edited_message: None,
                    })
                }
            })
            .collect())
    }

    /// `sendMessage` of plain text (no `parse_mode`: nothing in it is markup).
    pub async fn send_message(
        &self,
        token: &str,
        chat_id: &str,
        text: &str,
        reply_to: Option<i64>,
    ) -> Result<Message, ApiError> {
        let mut params = json!({"chat_id": chat_id, "text": text});
        if let Some(id) = reply_to {
            params["reply_parameters"] =
                json!({"message_id": id, "allow_sending_without_reply": true});
        }
        self.call(token, "sendMessage", params).await
    }

    /// `sendPhoto` (`field` = `photo`) or `sendDocument` (`field` = `document`) of a file.
    pub async fn send_file(
        &self,
        token: &str,
        method: &str,
        field: &str,
        chat_id: &str,
        file: UploadFile,
    ) -> Result<Message, ApiError> {
        if !is_media_type(&file.content_type) {
            return Err(ApiError::Refused {
                code: 400,
                description: format!("content type {}: not a media type", file.content_type),
            });
        }
        let (content_type, body) = Multipart::new()
            .text("chat_id", chat_id)
            .file(field, &file.name, &file.content_type, &file.bytes)
            .finish();
        let req = Request::post(self.url(token, method), &content_type, body);
        let res = self.send(token, req, self.timeout).await?;
        Self::answer(res).await
    }

    /// `sendChatAction` typing.
    pub async fn typing(&self, token: &str, chat_id: &str) -> Result<bool, ApiError> {
        self.call(
            token,
            "sendChatAction",
            json!({"chat_id": chat_id, "action": "typing"}),
        )
        .await
    }

    /// `getFile`: where a file can be downloaded.
    pub async fn get_file(&self, token: &str, file_id: &str) -> Result<File, ApiError> {
        self.call(token, "getFile", json!({"file_id": file_id}))
            .await
    }

    /// Downloads a file by its `file_path`, at most `max` bytes (a larger one is refused
    /// before or while it streams in).
    pub async fn download(
        &self,
        token: &str,
        file_path: &str,
        max: u64,
    ) -> Result<Vec<u8>, ApiError> {
        let url = format!("{}/file/bot{token}/{file_path}", self.base);
        let mut res = self.send(token, Request::get(url), self.timeout).await?;
        if !(200..300).contains(&res.status) {
            return Err(ApiError::Unavailable(format!(
                "file download: HTTP {}",
                res.status
            )));
        }
        res.bytes(max).await.map_err(|e| match e {
            HttpError::TooLarge(_) => ApiError::Refused {
                code: 413,
                description: "file too large".into(),
            },
            e => ApiError::Unavailable(e.to_string()),
        })
    }

    /// `setWebhook` with the secret Telegram sends back in
    /// `X-Telegram-Bot-Api-Secret-Token`.
    pub async fn set_webhook(
        &self,
        token: &str,
        url: &str,
        secret: &str,
    ) -> Result<bool, ApiError> {
        self.call(
            token,
            "setWebhook",
            json!({
                "url": url,
                "secret_token": secret,
                "allowed_updates": ["message", "edited_message"],
            }),
        )
        .await
    }

    /// `deleteWebhook` (polling needs it gone), keeping pending updates.
    pub async fn delete_webhook(&self, token: &str) -> Result<bool, ApiError> {
        self.call(
            token,
            "deleteWebhook",
            json!({"drop_pending_updates": false}),
        )
        .await
    }
}

/// An error text with the bot token (part of every URL) removed.
fn without_token(text: &str, token: &str) -> String {
    if token.is_empty() {
        text.to_string()
    } else {
        text.replace(token, "<token>")
    }
}
