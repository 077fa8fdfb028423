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
#[schemars(rename = "{T}Page")]
pub struct Page<T, C = Uuid> {
    /// The records.
    pub items: Vec<T>,
    /// Cursor of the next page, if any.
    pub next_cursor: Option<C>,
}

impl<T: Serialize, C: Serialize + std::fmt::Display> Page<T, C> {
    /// A page of `items` whose next page starts after `next_cursor`.
    pub fn with_next(items: Vec<T>, next_cursor: Option<C>) -> Self {
        Self { items, next_cursor }
    }

    /// Builds a page from `limit + 1` fetched rows.
    pub fn new(mut items: Vec<T>, limit: u64, id_of: impl Fn(&T) -> C) -> Self {
        let more = items.len() as u64 > limit;
        items.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        let next_cursor = if more { items.last().map(id_of) } else { None };
        Self { items, next_cursor }
    }

    /// The answer to the request for `uri`: this page, linking the next one.
    pub fn respond(self, uri: &Uri) -> Paged<T, C> {
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
        Paged { page: self, link }
    }
}

/// A page as answered: the JSON page with an RFC 8288 `Link: <…>; rel="next"` header when
/// there is a next page.
pub struct Paged<T, C = Uuid> {
    page: Page<T, C>,
    link: Option<String>,
}

impl<T: Serialize, C: Serialize> IntoResponse for Paged<T, C> {
    fn into_response(self) -> Response {
        let mut response = axum::Json(self.page).into_response();
        if let Some(value) = self.link.and_then(|l| HeaderValue::from_str(&l).ok()) {
            response.headers_mut().insert(header::LINK, value);
        }
        response
    }
}
