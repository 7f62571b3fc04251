//! The admin view of an app's KV store.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use picloud_shared::kv::{KvListOptions, KvPage};
use serde::Deserialize;
use utoipa::IntoParams;

use super::responses::{
    BadRequest, Forbidden, NotFound, PayloadTooLarge, Unauthorized, UnsupportedMediaType,
};
use crate::app_ref::AppRef;
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::kv::{KvCollection, KvItem};
use crate::service::Manager;

use super::common::{ApiResult, Caller, Items, items};

/// The app's KV collections and their sizes.
#[utoipa::path(
    get,
    path = "/admin/apps/{app}/kv",
    tag = "kv",
    params(("app" = String, Path, description = "An app id or name", example = "default")),
    responses(
        (status = 200, body = Items<KvCollection>),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
    )
)]
pub(super) async fn kv_collections(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiPath(app): ApiPath<AppRef>,
) -> ApiResult<Json<Items<KvCollection>>> {
    Ok(items(m.kv_collections(&caller.principal, &app).await?))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(super) struct KvPageQuery {
    /// The `cursor` of the previous page; absent: the first page.
    cursor: Option<String>,
    /// Keys per page (default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
    /// Only keys that start with this.
    prefix: Option<String>,
}

/// A page of a collection's keys, ascending.
#[utoipa::path(
    get,
    path = "/admin/apps/{app}/kv/{collection}",
    tag = "kv",
    params(("app" = String, Path, description = "An app id or name", example = "default"), ("collection" = String, Path, description = "A collection name", pattern = "^[A-Za-z0-9_.-]{1,64}$"), KvPageQuery),
    responses(
        (status = 200, body = KvPage),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
    )
)]
pub(super) async fn kv_page(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiPath((app, collection)): ApiPath<(AppRef, String)>,
    ApiQuery(q): ApiQuery<KvPageQuery>,
) -> ApiResult<Json<KvPage>> {
    let options = KvListOptions {
        cursor: q.cursor,
        limit: q.limit,
        prefix: q.prefix,
    };
    Ok(Json(
        m.kv_page(&caller.principal, &app, &collection, &options)
            .await?,
    ))
}

#[utoipa::path(
    get,
    path = "/admin/apps/{app}/kv/{collection}/{key}",
    tag = "kv",
    params(("app" = String, Path, description = "An app id or name", example = "default"), ("collection" = String, Path, description = "A collection name", pattern = "^[A-Za-z0-9_.-]{1,64}$"), ("key" = String, Path, description = "A key: 1 to 512 bytes of UTF-8", min_length = 1)),
    responses(
        (status = 200, body = KvItem),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
    )
)]
pub(super) async fn kv_get(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiPath((app, collection, key)): ApiPath<(AppRef, String, String)>,
) -> ApiResult<Json<KvItem>> {
    Ok(Json(
        m.kv_get(&caller.principal, &app, &collection, &key).await?,
    ))
}

/// The body is the value itself, any JSON. 201 when the key is new.
#[utoipa::path(
    put,
    path = "/admin/apps/{app}/kv/{collection}/{key}",
    tag = "kv",
    params(("app" = String, Path, description = "An app id or name", example = "default"), ("collection" = String, Path, description = "A collection name", pattern = "^[A-Za-z0-9_.-]{1,64}$"), ("key" = String, Path, description = "A key: 1 to 512 bytes of UTF-8", min_length = 1)),
    request_body(content = serde_json::Value, description = "The value: any JSON"),
    responses(
        (status = 200, description = "Replaced", body = KvItem),
        (status = 201, description = "Created", body = KvItem),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
    )
)]
pub(super) async fn kv_put(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiPath((app, collection, key)): ApiPath<(AppRef, String, String)>,
    ApiJson(value): ApiJson<serde_json::Value>,
) -> ApiResult<(StatusCode, Json<KvItem>)> {
    let (item, created) = m
        .kv_put(&caller.principal, &app, &collection, &key, value)
        .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(item)))
}

#[utoipa::path(
    delete,
    path = "/admin/apps/{app}/kv/{collection}/{key}",
    tag = "kv",
    params(("app" = String, Path, description = "An app id or name", example = "default"), ("collection" = String, Path, description = "A collection name", pattern = "^[A-Za-z0-9_.-]{1,64}$"), ("key" = String, Path, description = "A key: 1 to 512 bytes of UTF-8", min_length = 1)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    )
)]
pub(super) async fn kv_delete(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiPath((app, collection, key)): ApiPath<(AppRef, String, String)>,
) -> ApiResult<StatusCode> {
    m.kv_delete(&caller.principal, &app, &collection, &key)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
