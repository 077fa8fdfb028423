//! Cursor-paged lists: `limit` and `cursor` in, `items` and `next_cursor` out, and an RFC 8288
//! `Link: <…>; rel="next"` header.

use axum::{
    http::{HeaderValue, Uri, header},
    response::{IntoResponse, Response},
};
use serde::Serialize;
use uuid::Uuid;

/// Page size when the caller gives none, and the largest it may ask for.
pub const DEFAULT_LIMIT: u64 = 50;
/// Largest page.
pub const MAX_LIMIT: u64 = 200;

/// A requested page size, or `None` when it is out of range.
pub fn limit(limit: Option<u64>) -> Option<u64> {
    match limit.unwrap_or(DEFAULT_LIMIT) {
        limit @ 1..=MAX_LIMIT => Some(limit),
        _ => None,
    }
}

/// One page of a list in key order. Callers fetch `limit + 1` rows; the extra row only says
/// that there is a next page, whose cursor is the last returned key (an id, or a name).
#[derive(Serialize, schemars::JsonSchema)]
pub struct Page<T, C = Uuid> {
    /// The records.
    pub items: Vec<T>,
    /// Cursor of the next page, if any.
    pub next_cursor: Option<C>,
}

impl<T: Serialize, C: Serialize + std::fmt::Display> Page<T, C> {
    /// Builds a page from `limit + 1` fetched rows.
    pub fn new(mut items: Vec<T>, limit: u64, id_of: impl Fn(&T) -> C) -> Self {
        let more = items.len() as u64 > limit;
        items.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        let next_cursor = if more { items.last().map(id_of) } else { None };
        Self { items, next_cursor }
    }

    /// The JSON response, with an RFC 8288 `Link: <…>; rel="next"` header when there is a next
    /// page.
    pub fn respond(self, uri: &Uri) -> Response {
        let link = self.next_cursor.as_ref().map(|cursor| {
            let kept: Vec<&str> = uri
                .query()
                .unwrap_or_default()
                .split('&')
                .filter(|pair| !pair.is_empty() && !pair.starts_with("cursor="))
                .collect();
            let mut query = kept.join("&");
            if !query.is_empty() {
                query.push('&');
            }
            format!("<{}?{query}cursor={cursor}>; rel=\"next\"", uri.path())
        });
        let mut response = axum::Json(self).into_response();
        if let Some(value) = link.and_then(|l| HeaderValue::from_str(&l).ok()) {
            response.headers_mut().insert(header::LINK, value);
        }
        response
    }
}
