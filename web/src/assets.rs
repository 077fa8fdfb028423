//! The portals' built files (`portals/dist/<portal>/`), served under a path of an API: hashed
//! files under `assets/` are cached for good, `index.html` is never cached, a path that names no
//! file is a page of the single-page app (its `index.html`), and a `.gz` copy beside a file is
//! sent to browsers that accept gzip.

use std::path::{Component, Path, PathBuf};

use axum::{
    Router,
    body::Body,
    extract::Request,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Redirect, Response},
    routing::get,
};

use crate::problem::Problem;

/// Where the portals are installed beside a binary: `<bin>/../share/dotmac/portals` (the
/// images put the binary in `/usr/local/bin` and the portals in `/usr/local/share/dotmac`; a
/// checkout links `target/share/dotmac/portals` to `portals/dist`).
pub fn installed_dir(binary: &Path) -> Option<PathBuf> {
    Some(binary.parent()?.parent()?.join("share/dotmac/portals"))
}

/// The folder of the portals: `configured`, else the one installed beside the running binary.
pub fn portals_dir(configured: Option<PathBuf>) -> Option<PathBuf> {
    configured.or_else(|| installed_dir(&std::env::current_exe().ok()?))
}

/// Routes serving each `(path, folder)` portal: `/staff/…` from `<portals>/staff/`. A portal
/// whose folder has no `index.html` answers 404 saying it is not built, and is logged once.
pub fn router<S: Clone + Send + Sync + 'static>(
    portals: Option<&Path>,
    names: &[&'static str],
) -> Router<S> {
    let mut router = Router::new();
    for &name in names {
        let dir = portals.map(|p| p.join(name));
        match &dir {
            Some(dir) if dir.join("index.html").is_file() => {
                tracing::info!(portal = name, dir = %dir.display(), "serving portal");
            }
            _ => tracing::warn!(
                portal = name,
                dir = ?dir,
                "portal not built: run scripts/portals (or set DOTMAC_PORTALS_DIR); /{name}/ answers 404",
            ),
        }
        let base = format!("/{name}/");
        let root = dir.clone();
        router = router
            .route(
                &format!("/{name}"),
                get(move || async move { Redirect::permanent(&base) }),
            )
            .route(
                &format!("/{name}/"),
                get(move |headers: HeaderMap| serve(root.clone(), String::new(), headers)),
            )
            .route(
                &format!("/{name}/{{*path}}"),
                get(move |headers: HeaderMap, request: Request| {
                    let path = request
                        .uri()
                        .path()
                        .strip_prefix(&format!("/{name}/"))
                        .unwrap_or_default()
                        .to_owned();
                    serve(dir.clone(), path, headers)
                }),
            );
    }
    router
}

/// The file at `path` inside `dir`, or the app's page for a path without a file.
async fn serve(dir: Option<PathBuf>, path: String, headers: HeaderMap) -> Response {
    let Some(dir) = dir else {
        return not_built();
    };
    let Some(relative) = safe_relative(&path) else {
        return Problem::not_found("no such file").into_response();
    };
    let wanted = dir.join(&relative);
    let (file, immutable) = if tokio::fs::metadata(&wanted)
        .await
        .is_ok_and(|m| m.is_file())
    {
        (wanted, relative.starts_with("assets"))
    } else if relative.extension().is_none() {
        (dir.join("index.html"), false)
    } else {
        return Problem::not_found("no such file").into_response();
    };
    let gzip = accepts_gzip(&headers);
    let zipped = PathBuf::from(format!("{}.gz", file.display()));
    let (body, encoded) = match (gzip, tokio::fs::read(&zipped).await) {
        (true, Ok(bytes)) => (bytes, true),
        _ => match tokio::fs::read(&file).await {
            Ok(bytes) => (bytes, false),
            Err(_) => return not_built(),
        },
    };
    let mut response = Response::new(Body::from(body));
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(&file)),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(if immutable {
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        }),
    );
    h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
        ),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if encoded {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    response
}

fn not_built() -> Response {
    Problem::new(
        StatusCode::NOT_FOUND,
        "portal-not-built",
        "Portal not built",
        "this server has no build of the portal: run scripts/portals, or set DOTMAC_PORTALS_DIR",
    )
    .into_response()
}

/// `path` as a relative path of plain names: no `..`, no root, no hidden file.
fn safe_relative(path: &str) -> Option<PathBuf> {
    let relative = Path::new(path);
    let plain = relative.components().all(|c| match c {
        Component::Normal(name) => !name.to_string_lossy().starts_with('.'),
        _ => false,
    });
    plain.then(|| relative.to_path_buf())
}

fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|coding| {
            let mut parts = coding.split(';');
            let name = parts.next().unwrap_or_default().trim();
            let refused = parts.any(|p| matches!(p.trim(), "q=0" | "q=0.0" | "q=0.00" | "q=0.000"));
            name.eq_ignore_ascii_case("gzip") && !refused
        })
}

fn content_type(file: &Path) -> &'static str {
    match file.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json" | "map") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("woff2") => "font/woff2",
        Some("txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use axum::body::to_bytes;
    use tower::ServiceExt;

    use super::*;

    fn built() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let staff = dir.path().join("staff");
        std::fs::create_dir_all(staff.join("assets")).unwrap();
        std::fs::write(staff.join("index.html"), "<html>staff</html>").unwrap();
        std::fs::write(staff.join("assets/app-1a2b.js"), "console.log(1)").unwrap();
        std::fs::write(staff.join("assets/app-1a2b.js.gz"), "zipped").unwrap();
        std::fs::write(dir.path().join("secret.txt"), "outside").unwrap();
        dir
    }

    async fn get(app: &Router, path: &str, gzip: bool) -> (StatusCode, HeaderMap, String) {
        let mut request = Request::get(path);
        if gzip {
            request = request.header(header::ACCEPT_ENCODING, "br, gzip;q=0.8");
        }
        let response = app
            .clone()
            .oneshot(request.body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = to_bytes(response.into_body(), 1 << 20).await.unwrap();
        (status, headers, String::from_utf8_lossy(&body).into_owned())
    }

    #[tokio::test]
    async fn pages_assets_and_what_is_refused() {
        let dir = built();
        let app: Router = router(Some(dir.path()), &["staff", "portal"]);

        let (status, headers, body) = get(&app, "/staff/customers/42", false).await;
        assert_eq!(
            (status, body.as_str()),
            (StatusCode::OK, "<html>staff</html>")
        );
        assert_eq!(headers[header::CACHE_CONTROL], "no-cache");
        assert!(
            headers[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );

        let (_, headers, body) = get(&app, "/staff/assets/app-1a2b.js", true).await;
        assert_eq!(body, "zipped");
        assert_eq!(headers[header::CONTENT_ENCODING], "gzip");
        assert!(
            headers[header::CACHE_CONTROL]
                .to_str()
                .unwrap()
                .contains("immutable")
        );
        let (_, headers, body) = get(&app, "/staff/assets/app-1a2b.js", false).await;
        assert_eq!(body, "console.log(1)");
        assert!(headers.get(header::CONTENT_ENCODING).is_none());

        assert_eq!(
            get(&app, "/staff/assets/missing.js", false).await.0,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            get(&app, "/staff/../secret.txt", false).await.0,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            get(&app, "/staff/%2e%2e/secret.txt", false).await.0,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            get(&app, "/staff", false).await.0,
            StatusCode::PERMANENT_REDIRECT
        );

        let (status, _, body) = get(&app, "/portal/", false).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(body.contains("portal-not-built"), "{body}");
    }

    #[test]
    fn installed_beside_the_binary() {
        assert_eq!(
            installed_dir(Path::new("/usr/local/bin/dotmac-isp")).unwrap(),
            Path::new("/usr/local/share/dotmac/portals")
        );
    }
}
