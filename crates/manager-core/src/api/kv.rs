//! The admin view of an app's KV store.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use picloud_shared::kv::{KvListOptions, KvPage};
use serde::Deserialize;
use utoipa::IntoParams;

use super::responses::{BadRequest, JsonBodyErrors, ReadErrors, WriteErrors};
use crate::app_ref::AppRef;
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::kv::{KvCollection, KvItem};
use crate::service::Manager;

use super::common::{ApiResult, AppPath, Caller, Items, items};

/// The `{collection}/{key}` of a path, documented once.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // a document only: the handlers read `ApiPath<(AppRef, String, String)>`
struct KeyPath {
    /// A collection name
    #[param(pattern = "^[A-Za-z0-9_.-]{1,64}$")]
    collection: String,
    /// A key: 1 to 512 bytes of UTF-8
    #[param(min_length = 1)]
    key: String,
}

/// The app's KV collections and their sizes.
#[utoipa::path(
    get,
    path = "/admin/apps/{app}/kv",
    tag = "kv",
    params(AppPath),
    responses(
        (status = 200, body = Items<KvCollection>),
        ReadErrors,
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
    params(AppPath, ("collection" = String, Path, description = "A collection name", pattern = "^[A-Za-z0-9_.-]{1,64}$"), KvPageQuery),
    responses(
        (status = 200, body = KvPage),
        ReadErrors,
        (status = 400, response = BadRequest),
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
    params(AppPath, KeyPath),
    responses(
        (status = 200, body = KvItem),
        ReadErrors,
        (status = 400, response = BadRequest),
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
    params(AppPath, KeyPath),
    request_body(content = serde_json::Value, description = "The value: any JSON"),
    responses(
        (status = 200, description = "Replaced", body = KvItem),
        (status = 201, description = "Created", body = KvItem),
        WriteErrors,
        JsonBodyErrors,
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
    params(AppPath, KeyPath),
    responses(
        (status = 204, description = "Deleted"),
        WriteErrors,
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
