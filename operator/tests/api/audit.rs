//! Tokens made, listed and revoked over the API, each reseller seeing only its own; and every
//! change to a tenant recorded with who made it, from where.

use super::*;

#[tokio::test]
async fn tokens_over_the_api_and_who_did_what_to_which_tenant() {
    let h = harness(true).await;
    h.reseller("east").await;
    h.reseller("west").await;
    let admin = h.admin.clone();

    // An admin makes a reseller token over the API; it is shown once and works.
    let (status, made) = h
        .call(
            Some(&admin),
            Method::POST,
            "/tokens",
            Some(json!({"name": "east-api", "role": "reseller", "reseller": "east"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let east = made["token"].as_str().unwrap().to_owned();
    let west = h
        .token("west-token", Role::Reseller, Some("west"), None)
        .await;
    let (status, _) = h
        .call(
            Some(&admin),
            Method::POST,
            "/tokens",
            Some(json!({"name": "east-api", "role": "admin"})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "names are unique");
    let (status, body) = h
        .call(
            Some(&admin),
            Method::POST,
            "/tokens",
            Some(json!({"name": "instance:x", "role": "tenant", "tenant": "x"})),
        )
        .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("name"))
    );
    // Bad input names its field and makes nothing.
    let (_, tokens_before) = h.call(Some(&admin), Method::GET, "/tokens", None).await;
    for (body, field) in [
        (json!({"name": "x", "role": "emperor"}), "role"),
        (json!({"name": "x"}), "role"),
        (json!({"name": "x", "role": "reseller"}), "role"),
        (json!({"name": 5, "role": "admin"}), "name"),
        (
            json!({"name": "x", "role": "admin", "colour": "red"}),
            "colour",
        ),
    ] {
        let (status, problem) = h
            .call(Some(&admin), Method::POST, "/tokens", Some(body))
            .await;
        assert_eq!(
            (status, problem["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some(field)),
            "{problem}"
        );
    }
    let (_, tokens_after) = h.call(Some(&admin), Method::GET, "/tokens", None).await;
    assert_eq!(tokens_before, tokens_after, "bad input made no token");
    let (status, problem) = h
        .call(Some(&admin), Method::GET, "/audit-log?limit=0", None)
        .await;
    assert_eq!(
        (status, problem["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("limit"))
    );
    let (status, _) = h
        .call(Some(&admin), Method::GET, "/audit-log?colour=red", None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        h.call(Some(&admin), Method::DELETE, "/tokens/nobody", None)
            .await
            .0,
        StatusCode::NOT_FOUND
    );

    // A reseller makes tokens for itself only and sees only its own.
    let (status, own) = h
        .call(
            Some(&east),
            Method::POST,
            "/tokens",
            Some(json!({"name": "east-ci", "role": "reseller"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{own}");
    let east_ci = own["token"].as_str().unwrap().to_owned();
    let (status, _) = h
        .call(
            Some(&east),
            Method::POST,
            "/tokens",
            Some(json!({"name": "east-admin", "role": "admin"})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = h
        .call(
            Some(&east),
            Method::POST,
            "/tokens",
            Some(json!({"name": "for-west", "role": "reseller", "reseller": "west"})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, listed) = h.call(Some(&east), Method::GET, "/tokens", None).await;
    let names: Vec<&str> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["east-api", "east-ci"]);
    // Paged on the server, by name.
    let (_, first) = h
        .call(Some(&east), Method::GET, "/tokens?limit=1", None)
        .await;
    assert_eq!(first["items"][0]["name"], "east-api");
    let cursor = first["next_cursor"].as_str().unwrap();
    let (_, second) = h
        .call(
            Some(&east),
            Method::GET,
            &format!("/tokens?limit=1&cursor={cursor}"),
            None,
        )
        .await;
    assert_eq!(second["items"][0]["name"], "east-ci");
    assert!(second["next_cursor"].is_null(), "{second}");
    let (status, problem) = h
        .call(Some(&east), Method::GET, "/tokens?limit=0", None)
        .await;
    assert_eq!(
        (status, problem["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("limit"))
    );
    assert!(
        !listed.to_string().contains(&east_ci),
        "a listing never shows a token"
    );
    assert_eq!(
        h.call(Some(&east), Method::DELETE, "/tokens/west-token", None)
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        h.call(Some(&east), Method::DELETE, "/tokens/bootstrap", None)
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        h.call(Some(&admin), Method::DELETE, "/tokens/bootstrap", None)
            .await
            .0,
        StatusCode::CONFLICT
    );

    // Revoked: refused at once.
    assert_eq!(
        h.call(Some(&east_ci), Method::GET, "/tokens", None).await.0,
        StatusCode::OK
    );
    assert_eq!(
        h.call(Some(&east), Method::DELETE, "/tokens/east-ci", None)
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        h.call(Some(&east_ci), Method::GET, "/tokens", None).await.0,
        StatusCode::UNAUTHORIZED
    );

    // Tenant changes are audited with the caller's token name and address.
    let (status, _) = h
        .call(
            Some(&east),
            Method::POST,
            "/tenant-orchestration/deployments",
            Some(new_tenant("e1")),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let path = "/tenant-orchestration/deployments/e1";
    assert_eq!(
        h.call(
            Some(&admin),
            Method::PATCH,
            path,
            Some(json!({"size": "small"}))
        )
        .await
        .0,
        StatusCode::OK
    );
    let scale = json!({"replicas": 2, "reason": "evening peak"});
    assert_eq!(
        h.call(
            Some(&east),
            Method::POST,
            &format!("{path}/scale"),
            Some(scale)
        )
        .await
        .0,
        StatusCode::ACCEPTED
    );
    assert_eq!(
        h.call(Some(&west), Method::DELETE, path, None).await.0,
        StatusCode::NOT_FOUND,
        "another reseller's tenant"
    );
    assert_eq!(
        h.call(Some(&admin), Method::DELETE, path, None).await.0,
        StatusCode::ACCEPTED
    );

    let (_, log) = h
        .call(Some(&admin), Method::GET, "/audit-log?tenant=e1", None)
        .await;
    let entries: Vec<(String, String)> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["actor"].as_str().unwrap().to_owned(),
                e["action"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected = [
        ("east-api", "tenant.created"),
        ("bootstrap", "tenant.changed"),
        ("east-api", "tenant.scaled"),
        ("bootstrap", "tenant.deleted"),
    ];
    assert_eq!(entries, expected.map(|(a, b)| (a.to_owned(), b.to_owned())));
    assert_eq!(log["items"][0]["source"], "127.0.0.1");
    assert_eq!(log["items"][2]["detail"]["reason"], "evening peak");
    // Each reseller reads the entries about its own tenants and tokens only, also once the
    // tenant is gone.
    let (_, seen) = h
        .call(Some(&east), Method::GET, "/audit-log?tenant=e1", None)
        .await;
    assert_eq!(seen["items"].as_array().unwrap().len(), 4, "{seen}");
    let (_, seen) = h.call(Some(&east), Method::GET, "/audit-log", None).await;
    assert_eq!(
        seen["items"].as_array().unwrap().len(),
        7,
        "3 token entries and 4 of e1: {seen}"
    );
    let (_, seen) = h.call(Some(&west), Method::GET, "/audit-log", None).await;
    assert_eq!(seen["items"], json!([]), "{seen}");
    let (_, all) = h
        .call(
            Some(&admin),
            Method::GET,
            "/audit-log?action=token.created",
            None,
        )
        .await;
    assert_eq!(all["items"].as_array().unwrap().len(), 2, "{all}");
    assert!(
        !all.to_string().contains(&east),
        "the audit log never holds a token"
    );
}
