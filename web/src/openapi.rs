//! OpenAPI 3.1 documents generated from the handlers' own types with aide: what each shared
//! extractor ([`Body`], [`OptionalBody`], [`Params`], [`Id`]) and answer ([`Located`],
//! [`Acknowledged`], [`Recorded`], [`Paged`], [`Problem`]) adds to an operation, and the
//! settings, finishing touches and serving both APIs' documents share.

use aide::{
    axum::ApiRouter,
    generate::GenContext,
    openapi::{
        Header, HeaderStyle, MediaType, OpenApi, Operation, Parameter, ParameterData,
        ParameterSchemaOrContent, PathStyle, ReferenceOr, RequestBody, Response, SchemaObject,
        SecurityScheme, Server, StatusCode,
    },
    operation::{
        OperationInput, OperationOutput, ParamLocation, add_parameters, parameters_from_schema,
        set_body,
    },
};
use axum::{
    Router,
    body::Bytes,
    http::header,
    routing::{MethodRouter, get},
};
use indexmap::IndexMap;
use schemars::{JsonSchema, Schema, generate::SchemaSettings};

use crate::{
    extract::{Body, Id, OptionalBody, Params},
    page::{Page, Paged},
    problem::Problem,
    response::{Acknowledged, Created, Located, Recorded, Status},
};

/// The documentation of one operation: its tag (the resource) and a one-line summary.
pub fn summary(
    tag: &'static str,
    text: &'static str,
) -> impl FnOnce(aide::transform::TransformOperation<'_>) -> aide::transform::TransformOperation<'_>
{
    move |op| op.tag(tag).summary(text)
}

/// What a document says about its API.
pub struct About {
    /// Its title.
    pub title: &'static str,
    /// What the API is, in a sentence or two.
    pub description: &'static str,
    /// Where a bearer token comes from.
    pub token: &'static str,
}

/// The routes (under `/api/v1`, authenticated by bearer token) with the OpenAPI 3.1 document
/// they make.
pub fn build<S: Clone + Send + Sync + 'static>(
    about: About,
    routes: impl FnOnce() -> ApiRouter<S>,
) -> (Router<S>, OpenApi) {
    use_draft_2020_12();
    let mut api = OpenApi {
        json_schema_dialect: Some("https://json-schema.org/draft/2020-12/schema".to_owned()),
        servers: vec![Server {
            url: "/api/v1".to_owned(),
            ..Default::default()
        }],
        ..Default::default()
    };
    let bearer = SecurityScheme::Http {
        scheme: "bearer".to_owned(),
        bearer_format: None,
        description: Some(about.token.to_owned()),
        extensions: IndexMap::default(),
    };
    let router = routes().finish_api_with(&mut api, |doc| {
        doc.title(about.title)
            .version(env!("CARGO_PKG_VERSION"))
            .description(about.description)
            .security_scheme("bearer", bearer)
            .security_requirement("bearer")
    });
    (router, api)
}

/// `GET /api/v1/openapi.json`, answering `api` finished once here (from the same build that
/// made the routes).
pub fn serve<S: Clone + Send + Sync + 'static>(api: OpenApi) -> MethodRouter<S> {
    let document = finish(api)
        .and_then(|document| serde_json::to_vec(&document))
        .map(Bytes::from)
        .map_err(|error| tracing::error!(%error, "building the OpenAPI document failed"));
    get(move || {
        let document = document.clone();
        async move {
            match document {
                Ok(body) => Ok(([(header::CONTENT_TYPE, "application/json")], body)),
                Err(_) => Err(Problem::internal()),
            }
        }
    })
}

/// Makes aide generate JSON Schema draft 2020-12 (OpenAPI 3.1's dialect) with every named type
/// under `#/components/schemas/`. Called before the routes of a document are built.
fn use_draft_2020_12() {
    aide::generate::in_context(|ctx| {
        ctx.schema = SchemaSettings::draft2020_12()
            .with(|s| s.definitions_path = "#/components/schemas/".into())
            .into_generator();
    });
    aide::generate::extract_schemas(true);
}

/// The finished document as JSON. Every operation without an id gets one from its method and
/// path (`post_customers__id__activate`), the names API clients are generated with; and every
/// operation answers problems, since each route sits behind authentication and rate limits even
/// when its handler cannot fail.
pub fn finish(mut api: OpenApi) -> Result<serde_json::Value, serde_json::Error> {
    let problems = aide::generate::in_context(|ctx| {
        Problem::inferred_responses(ctx, &mut Operation::default())
    });
    if let Some(paths) = api.paths.as_mut() {
        for (path, item) in &mut paths.paths {
            let ReferenceOr::Item(item) = item else {
                continue;
            };
            let operations = [
                ("get", &mut item.get),
                ("put", &mut item.put),
                ("post", &mut item.post),
                ("delete", &mut item.delete),
                ("patch", &mut item.patch),
            ];
            for (method, operation) in operations {
                let Some(operation) = operation else {
                    continue;
                };
                if operation.operation_id.is_none() {
                    let id = format!("{method}{}", path.replace(['/', '{', '}', '-'], "_"));
                    operation.operation_id = Some(id);
                }
                let responses = operation.responses.get_or_insert_with(Default::default);
                for (status, response) in &problems {
                    if let Some(status) = status {
                        responses
                            .responses
                            .entry(status.clone())
                            .or_insert_with(|| ReferenceOr::Item(response.clone()));
                    }
                }
            }
        }
    }
    let mut document = serde_json::to_value(api)?;
    prune_unreferenced_schemas(&mut document);
    Ok(document)
}

/// Drops the component schemas nothing in the paths reaches (the query types, whose fields
/// became parameters).
fn prune_unreferenced_schemas(document: &mut serde_json::Value) {
    const PREFIX: &str = "#/components/schemas/";
    fn refs(value: &serde_json::Value, found: &mut Vec<String>) {
        match value {
            serde_json::Value::Object(map) => {
                for (key, value) in map {
                    match (key.as_str(), value.as_str()) {
                        ("$ref", Some(target)) => {
                            if let Some(name) = target.strip_prefix(PREFIX) {
                                found.push(name.to_owned());
                            }
                        }
                        _ => refs(value, found),
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| refs(v, found)),
            _ => {}
        }
    }
    let mut pending = Vec::new();
    refs(&document["paths"], &mut pending);
    let Some(schemas) = document
        .pointer_mut("/components/schemas")
        .and_then(serde_json::Value::as_object_mut)
    else {
        return;
    };
    let mut reached = std::collections::BTreeSet::new();
    while let Some(name) = pending.pop() {
        if reached.insert(name.clone())
            && let Some(schema) = schemas.get(&name)
        {
            refs(schema, &mut pending);
        }
    }
    schemas.retain(|name, _| reached.contains(name));
}

fn json_content(json_schema: Schema) -> IndexMap<String, MediaType> {
    let media = MediaType {
        schema: Some(SchemaObject {
            json_schema,
            example: None,
            external_docs: None,
        }),
        ..Default::default()
    };
    IndexMap::from_iter([("application/json".to_owned(), media)])
}

/// The description of a named schema, for the response or body that carries it.
fn description_of(ctx: &GenContext, schema: &Schema) -> Option<String> {
    ctx.resolve_schema(schema)
        .get("description")
        .and_then(|d| d.as_str())
        .map(str::to_owned)
}

fn json_body<T: JsonSchema>(ctx: &mut GenContext, operation: &mut Operation, required: bool) {
    let schema = ctx.schema.subschema_for::<T>();
    let body = RequestBody {
        description: description_of(ctx, &schema),
        content: json_content(schema),
        required,
        extensions: IndexMap::default(),
    };
    set_body(ctx, operation, body);
}

impl<T: JsonSchema> OperationInput for Body<T> {
    fn operation_input(ctx: &mut GenContext, operation: &mut Operation) {
        json_body::<T>(ctx, operation, true);
    }
}

impl<T: JsonSchema> OperationInput for OptionalBody<T> {
    fn operation_input(ctx: &mut GenContext, operation: &mut Operation) {
        json_body::<T>(ctx, operation, false);
    }
}

impl<T: JsonSchema> OperationInput for Params<T> {
    fn operation_input(ctx: &mut GenContext, operation: &mut Operation) {
        let schema = ctx.schema.subschema_for::<T>();
        let params = parameters_from_schema(ctx, schema, ParamLocation::Query);
        add_parameters(ctx, operation, params);
    }
}

impl OperationInput for Id {
    fn operation_input(ctx: &mut GenContext, operation: &mut Operation) {
        path_parameter::<uuid::Uuid>(ctx, operation, "id", "The record's id.");
    }
}

/// Documents the path parameter `{name}` of type `T`, for an extractor that reads it.
pub fn path_parameter<T: JsonSchema>(
    ctx: &mut GenContext,
    operation: &mut Operation,
    name: &str,
    description: &str,
) {
    let json_schema = ctx.schema.subschema_for::<T>();
    let parameter = Parameter::Path {
        parameter_data: ParameterData {
            name: name.to_owned(),
            description: Some(description.to_owned()),
            required: true,
            deprecated: None,
            format: ParameterSchemaOrContent::Schema(SchemaObject {
                json_schema,
                example: None,
                external_docs: None,
            }),
            example: None,
            examples: IndexMap::default(),
            explode: None,
            extensions: IndexMap::default(),
        },
        style: PathStyle::Simple,
    };
    add_parameters(ctx, operation, [parameter]);
}

/// A response header documented as a string.
fn header(description: &str) -> ReferenceOr<Header> {
    ReferenceOr::Item(Header {
        description: Some(description.to_owned()),
        style: HeaderStyle::Simple,
        required: false,
        deprecated: None,
        format: ParameterSchemaOrContent::Schema(SchemaObject {
            json_schema: schemars::json_schema!({"type": "string"}),
            example: None,
            external_docs: None,
        }),
        example: None,
        examples: IndexMap::default(),
        extensions: IndexMap::default(),
    })
}

/// The JSON response of `T`, described by `T`'s own description unless `description` is given.
fn json_response<T: JsonSchema>(
    ctx: &mut GenContext,
    description: Option<&str>,
    headers: &[(&str, &str)],
) -> Response {
    let schema = ctx.schema.subschema_for::<T>();
    Response {
        description: description
            .map(str::to_owned)
            .or_else(|| description_of(ctx, &schema))
            .unwrap_or_default(),
        headers: headers
            .iter()
            .map(|(name, text)| ((*name).to_owned(), header(text)))
            .collect(),
        content: json_content(schema),
        ..Default::default()
    }
}

/// `response` as the one answer of status `status`.
fn only(status: u16, response: Option<Response>) -> Vec<(Option<StatusCode>, Response)> {
    response
        .map(|r| vec![(Some(StatusCode::Code(status)), r)])
        .unwrap_or_default()
}

impl<T: JsonSchema, S: Status> OperationOutput for Located<T, S> {
    type Inner = T;

    fn operation_response(ctx: &mut GenContext, _: &mut Operation) -> Option<Response> {
        let location = ("Location", S::LOCATION);
        Some(json_response::<T>(ctx, Some(S::DESCRIPTION), &[location]))
    }

    fn inferred_responses(
        ctx: &mut GenContext,
        operation: &mut Operation,
    ) -> Vec<(Option<StatusCode>, Response)> {
        only(S::CODE.as_u16(), Self::operation_response(ctx, operation))
    }
}

impl OperationOutput for Acknowledged {
    type Inner = ();

    fn operation_response(_: &mut GenContext, _: &mut Operation) -> Option<Response> {
        Some(Response {
            description: "Accepted".to_owned(),
            ..Default::default()
        })
    }

    fn inferred_responses(
        ctx: &mut GenContext,
        operation: &mut Operation,
    ) -> Vec<(Option<StatusCode>, Response)> {
        only(202, Self::operation_response(ctx, operation))
    }
}

impl<T: JsonSchema> OperationOutput for Recorded<T> {
    type Inner = T;

    fn operation_response(ctx: &mut GenContext, operation: &mut Operation) -> Option<Response> {
        Created::<T>::operation_response(ctx, operation)
    }

    fn inferred_responses(
        ctx: &mut GenContext,
        operation: &mut Operation,
    ) -> Vec<(Option<StatusCode>, Response)> {
        let replay = json_response::<T>(
            ctx,
            Some("A repeat of an earlier request, answered with the record it made"),
            &[],
        );
        let mut responses = Created::<T>::inferred_responses(ctx, operation);
        responses.push((Some(StatusCode::Code(200)), replay));
        responses
    }
}

impl<T: JsonSchema, C: JsonSchema> OperationOutput for Paged<T, C> {
    type Inner = Page<T, C>;

    fn operation_response(ctx: &mut GenContext, _: &mut Operation) -> Option<Response> {
        let link = (
            "Link",
            "RFC 8288 `<…>; rel=\"next\"` when there is a next page.",
        );
        Some(json_response::<Page<T, C>>(ctx, Some("One page"), &[link]))
    }

    fn inferred_responses(
        ctx: &mut GenContext,
        operation: &mut Operation,
    ) -> Vec<(Option<StatusCode>, Response)> {
        only(200, Self::operation_response(ctx, operation))
    }
}

impl OperationOutput for Problem {
    type Inner = Self;

    fn operation_response(ctx: &mut GenContext, _: &mut Operation) -> Option<Response> {
        Some(problem_response(ctx, "A problem (RFC 9457)"))
    }

    /// Every operation can answer bad input, credentials, state or rate, and a server error.
    fn inferred_responses(
        ctx: &mut GenContext,
        _: &mut Operation,
    ) -> Vec<(Option<StatusCode>, Response)> {
        vec![
            (
                Some(StatusCode::Range(4)),
                problem_response(ctx, "Bad input, credentials, state or rate (RFC 9457)"),
            ),
            (
                Some(StatusCode::Range(5)),
                problem_response(ctx, "Server error (RFC 9457)"),
            ),
        ]
    }
}

fn problem_response(ctx: &mut GenContext, description: &str) -> Response {
    let schema = ctx.schema.subschema_for::<Problem>();
    let media = MediaType {
        schema: Some(SchemaObject {
            json_schema: schema,
            example: None,
            external_docs: None,
        }),
        ..Default::default()
    };
    Response {
        description: description.to_owned(),
        content: IndexMap::from_iter([("application/problem+json".to_owned(), media)]),
        ..Default::default()
    }
}
