// Generated from openapi.json by `npm run gen:api` (scripts/gen-api.mjs).
// Do not edit: change the server, refresh openapi.json, run it again.

export interface paths {
    "/api/v1/admin/apps": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The apps the caller has a role in (every app, for an instance admin). */
        get: operations["list_apps"];
        put?: never;
        /** Creates an app (instance admins only). */
        post: operations["create_app"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/admin/apps/{app}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: operations["get_app"];
        put?: never;
        post?: never;
        /** Deletes an app and everything it owns (not `default`). */
        delete: operations["delete_app"];
        options?: never;
        head?: never;
        /**
         * Changes an app's description and which of its requests are kept with
         *     their execution records for replay (editors; fields left out stay).
         */
        patch: operations["update_app"];
        trace?: never;
    };
    "/api/v1/admin/apps/{app}/dead-letters": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Events that failed every attempt. */
        get: operations["list_dead_letters"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/admin/apps/{app}/domains": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: operations["list_domains"];
        put?: never;
        /** Claims a domain pattern for the app. */
        post: operations["claim_domain"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/admin/apps/{app}/domains/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        /** Releases a domain claim. */
        delete: operations["release_domain"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/admin/apps/{app}/kv": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The app's KV collections and their sizes. */
        get: operations["kv_collections"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/admin/apps/{app}/kv/{collection}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** A page of a collection's keys, ascending. */
        get: operations["kv_page"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/admin/apps/{app}/kv/{collection}/{key}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: operations["kv_get"];
        /** The body is the value itself, any JSON. 201 when the key is new. */
        put: operations["kv_put"];
        post?: never;
        delete: operations["kv_delete"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/admin/apps/{app}/members": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: operations["list_members"];
        put?: never;
        /** Adds a member (201) or changes a member's role (200). */
        post: operations["set_member"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/admin/apps/{app}/members/{user}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        /** Removes a member (not the app's last owner). */
        delete: operations["remove_member"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/admin/apps/{app}/releases": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * An app's releases, newest first, each with what it holds and what
         *     changed since the one before.
         */
        get: operations["list_releases"];
        put?: never;
        /**
         * Makes a release of the app as it is now: 201. When the app is as its
         *     newest release holds it, that release, 200.
         */
        post: operations["create_release"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/admin/apps/{app}/releases/{release}/rollback": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Makes the app match one of its releases (by id or number): its scripts
         *     at the release's versions (each saved again as a new version), its
         *     routes, domain claims and triggers, in one transaction; requests see
         *     the app before or after, never a mix. Recorded as a new release (201).
         *     When the app already matches the release: 200 and the newest release.
         *     KV data and secrets are left as they are.
         */
        post: operations["rollback_release"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/admin/apps/{app}/secrets": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The names of an app's secrets, who set each and when: never the values. */
        get: operations["secret_list"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/admin/apps/{app}/secrets/{name}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        /** Sets a secret (editors and owners). The answer never holds the value. */
        put: operations["secret_put"];
        post?: never;
        /** Deletes a secret (editors and owners). */
        delete: operations["secret_delete"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/admin/apps/{app}/triggers": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: operations["list_triggers"];
        put?: never;
        /** Creates a KV or cron trigger. */
        post: operations["create_trigger"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/admin/audit": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Who changed what, newest first. */
        get: operations["audit_log"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/admin/auth/login": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Signs in: a session token, also set as the session cookie. */
        post: operations["login"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/admin/auth/logout": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Signs out: the token stops working and the cookie is cleared. */
        post: operations["logout"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/admin/auth/me": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The caller and their per-app roles (an instance admin has every right
         *     in every app besides the roles listed).
         */
        get: operations["me"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/admin/dead-letters/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        delete: operations["delete_dead_letter"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/admin/dead-letters/{id}/retry": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Puts the event back in the queue (202: it is delivered in the background). */
        post: operations["retry_dead_letter"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/admin/executions/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** One execution record. */
        get: operations["get_execution"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/admin/executions/{id}/replay": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Runs an execution again with the request (or event) it was given,
         *     against the live version of its script or `version`; a dry run unless
         *     `"dry_run": false` (KV writes discarded, no triggers fired, outbound
         *     calls not sent). The replay is recorded, naming the original. The
         *     body may be left out.
         */
        post: operations["replay_execution"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/admin/routes": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: operations["list_routes"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/admin/routes/check": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Whether a route could be added: its conflicts, or why the path is refused. */
        post: operations["check_route"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/admin/routes/match": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Where a request would go. */
        get: operations["match_route"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/admin/routes/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        delete: operations["delete_route"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/admin/scripts": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The scripts, each with what its executions add up to. */
        get: operations["list_scripts"];
        put?: never;
        /** Compiles and stores a new script (version 1). */
        post: operations["create_script"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/admin/scripts/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: operations["get_script"];
        /** Changes a script: a new version, live for the next request. */
        put: operations["update_script"];
        post?: never;
        /** Deletes a script, its routes and its triggers. */
        delete: operations["delete_script"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/admin/scripts/{id}/executions": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** A script's recent executions, newest first, with their logs. */
        get: operations["list_executions"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/admin/scripts/{id}/routes": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Routes a path pattern of the script's app to the script. */
        post: operations["create_route"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/admin/scripts/{id}/usage": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * What a script's executions used over the last hour or day, point by
         *     point: executions, errors, and percentiles of duration and Rhai
         *     operations. Every step of the window has a point.
         */
        get: operations["script_usage"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/admin/scripts/{id}/versions": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * A script's saved versions, newest first, without their sources: up to
         *     `PICLOUD_SCRIPT_HISTORY` of them, the live one always.
         */
        get: operations["list_script_versions"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/admin/scripts/{id}/versions/{version}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** One saved version of a script, with its source. */
        get: operations["get_script_version"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/admin/tokens": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The caller's API tokens (never their secrets). */
        get: operations["list_tokens"];
        put?: never;
        /** Creates an API token acting as the caller. */
        post: operations["create_token"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/admin/tokens/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        /** Revokes one of the caller's API tokens. */
        delete: operations["revoke_token"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/admin/triggers/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        delete: operations["delete_trigger"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/admin/users": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Every user (instance admins only). */
        get: operations["list_users"];
        put?: never;
        /** Creates a user (instance admins only). */
        post: operations["create_user"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/admin/users/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        /** Deletes a user (instance admins only; not the last admin). */
        delete: operations["delete_user"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/openapi.json": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** This document: the OpenAPI 3.1 description of the admin API. */
        get: operations["serve"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
}
export type webhooks = Record<string, never>;
export interface components {
    schemas: {
        /** @description An API token as listed (never with its secret). */
        ApiToken: {
            /** Format: date-time */
            created_at: string;
            /** Format: date-time */
            expires_at?: string | null;
            /** Format: uuid */
            id: string;
            /** Format: date-time */
            last_used_at?: string | null;
            name: string;
        };
        App: {
            /** Format: date-time */
            created_at: string;
            description: string;
            id: components["schemas"]["AppId"];
            name: string;
            /** @description Which requests are kept with their execution records, for replay. */
            record_requests: components["schemas"]["RecordRequests"];
            /**
             * @description Headers taken out of kept requests besides `authorization`,
             *     `proxy-authorization`, `cookie` and `PICLOUD_RECORD_REDACT_HEADERS`
             *     (lower-case names).
             */
            redact_headers: string[];
        };
        /**
         * Format: uuid
         * @description An app: the unit of ownership and isolation.
         */
        AppId: string;
        /**
         * @description A user's role in one app. Ordered: each role has every right of the
         *     ones before it.
         * @enum {string}
         */
        AppRole: "viewer" | "editor" | "owner";
        /** @description `PATCH /apps/{app}`: what changes (absent fields stay as they are). */
        AppUpdate: {
            description?: string | null;
            record_requests?: null | components["schemas"]["RecordRequests"];
            /**
             * @description Headers to take out of kept requests besides the built-in ones
             *     (names, any case; stored lower case). Replaces the list.
             */
            redact_headers?: string[] | null;
        };
        /** @description One audit entry. */
        AuditEntry: {
            /** @description `script.create`, `member.set`, ... */
            action: string;
            actor: string;
            actor_id?: null | components["schemas"]["UserId"];
            app_id?: null | components["schemas"]["AppId"];
            /** Format: date-time */
            at: string;
            detail: unknown;
            /**
             * Format: uuid
             * @description UUIDv7: entries sort by id in time order; `?before=` pages with it.
             */
            id: string;
            /** @description The id of what was changed. */
            target_id?: string | null;
        };
        CheckRouteBody: {
            /** @description An app id or name; absent: `default`. */
            app?: string | null;
            methods?: string[] | null;
            path: string;
        };
        ClaimBody: {
            /** @description `api.example.com` or `{tenant}.example.com`. */
            pattern: string;
        };
        CreateAppBody: {
            description?: string | null;
            /** @description The same rules as script names. */
            name: components["schemas"]["ScriptName"];
        };
        CreateRouteBody: {
            /** @description HTTP methods; absent: any method. */
            methods?: string[] | null;
            /** @description `/users/:id`, `/files/*rest`, ... */
            path: string;
        };
        CreateScriptBody: {
            /** @description An app id or name; absent: `default`. */
            app?: string | null;
            description?: string | null;
            /** @description Kept with version 1 in the script's history (at most 1 KiB). */
            message?: string | null;
            name: components["schemas"]["ScriptName"];
            sandbox?: null | components["schemas"]["SandboxOverrides"];
            source: string;
        };
        CreateTokenBody: {
            /**
             * Format: int32
             * @description Absent: the token does not expire.
             */
            expires_in_days?: number | null;
            name: string;
        };
        CreateUserBody: {
            /** @description 8 characters to 1024 bytes. */
            password: string;
            role: components["schemas"]["UserRole"];
            username: string;
        };
        /** @description A new API token, with its secret (shown this once). */
        CreatedToken: components["schemas"]["ApiToken"] & {
            /**
             * @description The secret (`pct_...`), for `Authorization: Bearer`. Only its hash
             *     is kept: it is never shown again.
             */
            token: string;
        };
        /**
         * @description What a script's executions of the last day add up to, for the scripts
         *     list.
         */
        DayUsage: {
            duration_ms: components["schemas"]["Percentiles"];
            /** Format: int64 */
            errors: number;
            /**
             * @description Per clock hour, the last 24, the current one last (the app page's
             *     bars); empty when the script did not run in the last day.
             */
            hourly: components["schemas"]["HourCount"][];
            /** Format: int64 */
            invocations: number;
            operations: components["schemas"]["Percentiles"];
        };
        /** @description A dead letter as the admin API shows it. */
        DeadLetter: {
            app_id: components["schemas"]["AppId"];
            /** Format: int32 */
            attempts: number;
            /** Format: date-time */
            created_at: string;
            /** @description The last attempt's error. */
            error: string;
            /** @description The event that failed (`ctx.event` of its attempts). */
            event: unknown;
            id: components["schemas"]["DeadLetterId"];
            trigger_id: components["schemas"]["TriggerId"];
        };
        /**
         * Format: uuid
         * @description An event that failed every attempt, kept for a look and a retry.
         */
        DeadLetterId: string;
        /** @description A domain claim as stored. */
        Domain: {
            app_id: components["schemas"]["AppId"];
            /** Format: date-time */
            created_at: string;
            id: components["schemas"]["DomainId"];
            pattern: string;
        };
        /**
         * Format: uuid
         * @description A domain claim of an app.
         */
        DomainId: string;
        /** @description Every error answer. Extra fields beside code and message where useful. */
        Error: {
            error: {
                /**
                 * @description What went wrong, for a program; never renamed
                 * @enum {string}
                 */
                code: "bad_request" | "invalid_id" | "invalid_name" | "compile_error" | "source_too_large" | "sandbox_ceiling" | "reserved_path" | "unauthorized" | "invalid_credentials" | "forbidden" | "not_found" | "method_not_allowed" | "too_many_attempts" | "conflict" | "route_conflict" | "request_timeout" | "payload_too_large" | "unsupported_media_type" | "script_error" | "limit_exceeded" | "invalid_response" | "internal" | "overloaded" | "timeout";
                column?: number;
                /** @description `route_conflict`: the routes in the way */
                conflicts?: components["schemas"]["RouteTarget"][];
                /** @description Script errors: where, when known */
                line?: number;
                /** @description What went wrong, for a person */
                message: string;
            };
        };
        /**
         * @description How an execution ended.
         * @enum {string}
         */
        ExecStatus: "ok" | "error" | "timeout" | "limit_exceeded";
        /**
         * Format: uuid
         * @description One run of a script.
         */
        ExecutionId: string;
        /** @description The stored record of one execution (contract: Execution). */
        ExecutionRecord: {
            app_id: components["schemas"]["AppId"];
            /**
             * Format: double
             * @description CPU time of the thread that ran it, in milliseconds (null as for
             *     `operations`).
             */
            cpu_ms?: number | null;
            /**
             * @description A dry run: its KV writes were discarded and its outbound calls not
             *     sent.
             */
            dry_run?: boolean;
            /** Format: double */
            duration_ms: number;
            error?: string | null;
            /** @description `ctx.event`, for trigger executions. */
            event?: unknown;
            id: components["schemas"]["ExecutionId"];
            invocation_type: components["schemas"]["InvocationType"];
            logs: components["schemas"]["LogEntry"][];
            /**
             * Format: int64
             * @description Rhai operations it spent, those of the scripts it invoked included
             *     (docs/scripts.md); null in records from before they were counted.
             */
            operations?: number | null;
            /** @description The outbound HTTP calls it made, in order; absent when none. */
            outbound?: components["schemas"]["OutboundCall"][];
            replay_of?: null | components["schemas"]["ExecutionId"];
            request?: null | components["schemas"]["RecordedRequest"];
            request_id: components["schemas"]["RequestId"];
            script_id: components["schemas"]["ScriptId"];
            /**
             * Format: int64
             * @description The version of the script that ran; null in records kept from
             *     before versions were recorded, and when the script never started.
             */
            script_version?: number | null;
            /** Format: date-time */
            started_at: string;
            status: components["schemas"]["ExecStatus"];
            /** Format: int32 */
            status_code?: number | null;
        };
        /** @description A role a user holds in an app. */
        Grant: {
            /** @description The app's name. */
            app: string;
            app_id: components["schemas"]["AppId"];
            role: components["schemas"]["AppRole"];
        };
        /** @description The executions that started in one hour. */
        HourCount: {
            /** Format: int64 */
            errors: number;
            /** Format: int64 */
            invocations: number;
        };
        /** @description `ctx.request`. */
        HttpRequest: {
            body: components["schemas"]["RequestBody"];
            /** @description Lower-case names; repeated headers joined with ", ". */
            headers: {
                [key: string]: string;
            };
            host: string;
            host_params: {
                [key: string]: string;
            };
            /**
             * @description The client's address (behind `PICLOUD_TRUSTED_PROXIES`, the one they
             *     forwarded for); empty when unknown. SDK 1.1.
             */
            ip: string;
            method: string;
            params: {
                [key: string]: string;
            };
            path: string;
            query: {
                [key: string]: string;
            };
            rest: string;
        };
        /**
         * @description What ran a script: `ctx.invocation_type`, and an execution record's.
         * @enum {string}
         */
        InvocationType: "http" | "function" | "trigger" | "scheduled";
        /** @description A list answer: `{"items": [...]}`. */
        Items_ApiToken: {
            items: {
                /** Format: date-time */
                created_at: string;
                /** Format: date-time */
                expires_at?: string | null;
                /** Format: uuid */
                id: string;
                /** Format: date-time */
                last_used_at?: string | null;
                name: string;
            }[];
        };
        /** @description A list answer: `{"items": [...]}`. */
        Items_App: {
            items: {
                /** Format: date-time */
                created_at: string;
                description: string;
                id: components["schemas"]["AppId"];
                name: string;
                /** @description Which requests are kept with their execution records, for replay. */
                record_requests: components["schemas"]["RecordRequests"];
                /**
                 * @description Headers taken out of kept requests besides `authorization`,
                 *     `proxy-authorization`, `cookie` and `PICLOUD_RECORD_REDACT_HEADERS`
                 *     (lower-case names).
                 */
                redact_headers: string[];
            }[];
        };
        /** @description A list answer: `{"items": [...]}`. */
        Items_AuditEntry: {
            items: {
                /** @description `script.create`, `member.set`, ... */
                action: string;
                actor: string;
                actor_id?: null | components["schemas"]["UserId"];
                app_id?: null | components["schemas"]["AppId"];
                /** Format: date-time */
                at: string;
                detail: unknown;
                /**
                 * Format: uuid
                 * @description UUIDv7: entries sort by id in time order; `?before=` pages with it.
                 */
                id: string;
                /** @description The id of what was changed. */
                target_id?: string | null;
            }[];
        };
        /** @description A list answer: `{"items": [...]}`. */
        Items_DeadLetter: {
            items: {
                app_id: components["schemas"]["AppId"];
                /** Format: int32 */
                attempts: number;
                /** Format: date-time */
                created_at: string;
                /** @description The last attempt's error. */
                error: string;
                /** @description The event that failed (`ctx.event` of its attempts). */
                event: unknown;
                id: components["schemas"]["DeadLetterId"];
                trigger_id: components["schemas"]["TriggerId"];
            }[];
        };
        /** @description A list answer: `{"items": [...]}`. */
        Items_Domain: {
            items: {
                app_id: components["schemas"]["AppId"];
                /** Format: date-time */
                created_at: string;
                id: components["schemas"]["DomainId"];
                pattern: string;
            }[];
        };
        /** @description A list answer: `{"items": [...]}`. */
        Items_ExecutionRecord: {
            items: {
                app_id: components["schemas"]["AppId"];
                /**
                 * Format: double
                 * @description CPU time of the thread that ran it, in milliseconds (null as for
                 *     `operations`).
                 */
                cpu_ms?: number | null;
                /**
                 * @description A dry run: its KV writes were discarded and its outbound calls not
                 *     sent.
                 */
                dry_run?: boolean;
                /** Format: double */
                duration_ms: number;
                error?: string | null;
                /** @description `ctx.event`, for trigger executions. */
                event?: unknown;
                id: components["schemas"]["ExecutionId"];
                invocation_type: components["schemas"]["InvocationType"];
                logs: components["schemas"]["LogEntry"][];
                /**
                 * Format: int64
                 * @description Rhai operations it spent, those of the scripts it invoked included
                 *     (docs/scripts.md); null in records from before they were counted.
                 */
                operations?: number | null;
                /** @description The outbound HTTP calls it made, in order; absent when none. */
                outbound?: components["schemas"]["OutboundCall"][];
                replay_of?: null | components["schemas"]["ExecutionId"];
                request?: null | components["schemas"]["RecordedRequest"];
                request_id: components["schemas"]["RequestId"];
                script_id: components["schemas"]["ScriptId"];
                /**
                 * Format: int64
                 * @description The version of the script that ran; null in records kept from
                 *     before versions were recorded, and when the script never started.
                 */
                script_version?: number | null;
                /** Format: date-time */
                started_at: string;
                status: components["schemas"]["ExecStatus"];
                /** Format: int32 */
                status_code?: number | null;
            }[];
        };
        /** @description A list answer: `{"items": [...]}`. */
        Items_KvCollection: {
            items: {
                /** Format: int64 */
                keys: number;
                name: string;
            }[];
        };
        /** @description A list answer: `{"items": [...]}`. */
        Items_Member: {
            items: {
                app_id: components["schemas"]["AppId"];
                /** Format: date-time */
                created_at: string;
                role: components["schemas"]["AppRole"];
                user_id: components["schemas"]["UserId"];
                username: string;
            }[];
        };
        /** @description A list answer: `{"items": [...]}`. */
        Items_Release: {
            items: {
                app_id: components["schemas"]["AppId"];
                /** @description What changed since the release before it, in words. */
                changes: string[];
                /** Format: date-time */
                created_at: string;
                /** @description The username of who made it. */
                created_by: string;
                /** Format: uuid */
                id: string;
                kind: components["schemas"]["ReleaseKind"];
                message: string;
                /**
                 * Format: int64
                 * @description The app's releases are numbered from 1.
                 */
                number: number;
                /**
                 * Format: uuid
                 * @description The release a rollback restored.
                 */
                rollback_of?: string | null;
                snapshot: components["schemas"]["Snapshot"];
            }[];
        };
        /** @description A list answer: `{"items": [...]}`. */
        Items_Route: {
            items: {
                app_id: components["schemas"]["AppId"];
                /** Format: date-time */
                created_at: string;
                id: components["schemas"]["RouteId"];
                /** @description Upper-case methods; `None` for any method. */
                methods?: string[] | null;
                /** @description The normalised pattern text. */
                path: string;
                script_id: components["schemas"]["ScriptId"];
            }[];
        };
        /** @description A list answer: `{"items": [...]}`. */
        Items_ScriptSummary: {
            items: (components["schemas"]["Script"] & {
                stats: components["schemas"]["ScriptStats"];
            })[];
        };
        /** @description A list answer: `{"items": [...]}`. */
        Items_ScriptVersionSummary: {
            items: {
                /** Format: date-time */
                created_at: string;
                created_by?: string | null;
                description: string;
                live: boolean;
                message: string;
                sandbox: components["schemas"]["SandboxOverrides"];
                /**
                 * Format: int64
                 * @description The source's size in bytes.
                 */
                source_bytes: number;
                /** Format: int64 */
                version: number;
            }[];
        };
        /** @description A list answer: `{"items": [...]}`. */
        Items_SecretInfo: {
            items: {
                /** @example STRIPE_KEY */
                name: string;
                /** Format: date-time */
                updated_at: string;
                /** @description The username of who set it last. */
                updated_by: string;
            }[];
        };
        /** @description A list answer: `{"items": [...]}`. */
        Items_Trigger: {
            items: {
                app_id: components["schemas"]["AppId"];
                collection?: string | null;
                /** Format: date-time */
                created_at: string;
                dead_letter_script_id?: null | components["schemas"]["ScriptId"];
                /** @description A KV trigger's events. */
                events?: components["schemas"]["KvEvent"][] | null;
                id: components["schemas"]["TriggerId"];
                kind: components["schemas"]["TriggerKind"];
                /** Format: int32 */
                max_attempts?: number | null;
                /**
                 * Format: date-time
                 * @description A cron trigger's next tick (UTC).
                 */
                next_run_at?: string | null;
                schedule?: string | null;
                script_id: components["schemas"]["ScriptId"];
                /** @description What the dispatcher did with this trigger's events. */
                stats: components["schemas"]["TriggerStats"];
            }[];
        };
        /** @description A list answer: `{"items": [...]}`. */
        Items_User: {
            items: {
                /** Format: date-time */
                created_at: string;
                id: components["schemas"]["UserId"];
                role: components["schemas"]["UserRole"];
                username: string;
            }[];
        };
        /** @description A collection as the admin API lists it. */
        KvCollection: {
            /** Format: int64 */
            keys: number;
            name: string;
        };
        /** @description One entry of a page. */
        KvEntry: {
            key: string;
            value: unknown;
        };
        /**
         * @description What a KV trigger fires on: a key's value written, or its key deleted.
         *     The admin API and the manifest spell them `"set"` and `"delete"`.
         * @enum {string}
         */
        KvEvent: "set" | "delete";
        /** @description A key as the admin API shows it. */
        KvItem: {
            key: string;
            /** Format: date-time */
            updated_at: string;
            value: unknown;
        };
        /**
         * @description A page of `list`: keys ascending (byte order of their UTF-8), and the
         *     cursor of the next page, if there is one.
         */
        KvPage: {
            cursor?: string | null;
            items: components["schemas"]["KvEntry"][];
        };
        /** @description One `log::*` call. */
        LogEntry: {
            /** Format: date-time */
            at: string;
            data?: unknown;
            level: components["schemas"]["LogLevel"];
            message: string;
        };
        /** @enum {string} */
        LogLevel: "trace" | "info" | "warn" | "error";
        /** @description A new session. */
        LoginAnswer: {
            /**
             * Format: date-time
             * @description When the session ends unless it is used (the lifetime slides).
             */
            expires_at: string;
            /** @description A session token (`pcs_...`), for `Authorization: Bearer`. */
            token: string;
            user: components["schemas"]["User"];
        };
        LoginBody: {
            password: string;
            username: string;
        };
        /** @description `GET /auth/me`. */
        MeAnswer: {
            roles: components["schemas"]["Grant"][];
            user: components["schemas"]["User"];
        };
        /** @description A member of an app, as listed. */
        Member: {
            app_id: components["schemas"]["AppId"];
            /** Format: date-time */
            created_at: string;
            role: components["schemas"]["AppRole"];
            user_id: components["schemas"]["UserId"];
            username: string;
        };
        MemberBody: {
            role: components["schemas"]["AppRole"];
            /** @description A user id or username. */
            user_id: string;
        };
        NewReleaseBody: {
            /** @description `manual` (the default) or `deploy` (what `picloud deploy` sends). */
            kind?: string | null;
            /** @description Why (at most 1 KiB). */
            message?: string | null;
        };
        /** @description `POST /apps/{app}/triggers`. */
        NewTrigger: {
            collection: string;
            dead_letter_script_id?: null | components["schemas"]["ScriptId"];
            /** @description `set`, `delete` or both. */
            events: components["schemas"]["KvEvent"][];
            /** @enum {string} */
            kind: "kv";
            /**
             * Format: int32
             * @description Attempts before the event becomes a dead letter (default 3).
             */
            max_attempts?: number | null;
            script_id: components["schemas"]["ScriptId"];
        } | {
            /** @enum {string} */
            kind: "cron";
            /** @description 5-field cron, or 6 with seconds first, in UTC. */
            schedule: string;
            script_id: components["schemas"]["ScriptId"];
        };
        /**
         * @description One outbound HTTP call an execution made (`http::request`): what and
         *     where, never bodies or headers.
         */
        OutboundCall: {
            /** Format: double */
            duration_ms: number;
            /** @description The URL's host (and port, when not the scheme's default). */
            host: string;
            method: string;
            outcome: components["schemas"]["OutboundOutcome"];
            /**
             * Format: int32
             * @description The answer's status code; absent when there was no answer.
             */
            status?: number | null;
        };
        /**
         * @description How an outbound call ended.
         * @enum {string}
         */
        OutboundOutcome: "ok" | "refused" | "failed" | "timeout" | "not_sent";
        /** @description Percentiles of a measure; null when nothing was measured. */
        Percentiles: {
            /** Format: double */
            p50?: number | null;
            /** Format: double */
            p95?: number | null;
            /** Format: double */
            p99?: number | null;
        };
        /**
         * @description Which of an app's requests are kept with their execution records, for
         *     replay (`PATCH /apps/{app}`): none by default.
         * @enum {string}
         */
        RecordRequests: "off" | "failed" | "all";
        /**
         * @description A request as kept for replay: `ctx.request` without the headers that
         *     carry credentials, and without its body when that was over the bound.
         */
        RecordedRequest: components["schemas"]["HttpRequest"] & {
            /**
             * Format: int64
             * @description The size in bytes of a body that was not kept (over
             *     `PICLOUD_RECORD_MAX_BODY_BYTES`); such a request cannot be replayed.
             */
            body_dropped?: number | null;
            /** @description The headers taken out (lower-case names): a replay runs without them. */
            redacted_headers?: string[];
        };
        /** @description A release. */
        Release: {
            app_id: components["schemas"]["AppId"];
            /** @description What changed since the release before it, in words. */
            changes: string[];
            /** Format: date-time */
            created_at: string;
            /** @description The username of who made it. */
            created_by: string;
            /** Format: uuid */
            id: string;
            kind: components["schemas"]["ReleaseKind"];
            message: string;
            /**
             * Format: int64
             * @description The app's releases are numbered from 1.
             */
            number: number;
            /**
             * Format: uuid
             * @description The release a rollback restored.
             */
            rollback_of?: string | null;
            snapshot: components["schemas"]["Snapshot"];
        };
        /**
         * @description How a release came to be.
         * @enum {string}
         */
        ReleaseKind: "manual" | "deploy" | "rollback";
        /** @description A domain claim as a release holds it. */
        ReleasedDomain: {
            id: components["schemas"]["DomainId"];
            pattern: string;
        };
        /** @description A route as a release holds it. */
        ReleasedRoute: {
            id: components["schemas"]["RouteId"];
            /** @description Upper-case methods; null for any method. */
            methods?: string[] | null;
            path: string;
            script_id: components["schemas"]["ScriptId"];
        };
        /** @description A script as a release holds it. */
        ReleasedScript: {
            id: components["schemas"]["ScriptId"];
            name: string;
            /** Format: int64 */
            version: number;
        };
        /**
         * @description A trigger as a release holds it (its counters and next tick are not
         *     part of it).
         */
        ReleasedTrigger: {
            collection?: string | null;
            dead_letter_script_id?: null | components["schemas"]["ScriptId"];
            id: components["schemas"]["TriggerId"];
            kind: components["schemas"]["TriggerKind"];
            /** Format: int32 */
            max_attempts: number;
            on_delete: boolean;
            on_set: boolean;
            schedule?: string | null;
            script_id: components["schemas"]["ScriptId"];
        };
        /** @description A replay's answer (`POST /executions/{id}/replay`). */
        Replay: {
            /** @description The replay's own execution record (`replay_of` names the original). */
            execution: components["schemas"]["ExecutionRecord"];
            response?: null | components["schemas"]["ReplayResponse"];
        };
        /** @description `POST /executions/{id}/replay`. */
        ReplayOptions: {
            /**
             * @description true (the default): KV writes go to an overlay dropped at the end
             *     (so they fire no triggers) and outbound HTTP calls are not sent.
             *     false: the replay acts for real, as the original did.
             */
            dry_run?: boolean | null;
            /**
             * Format: int64
             * @description The version of the script to run (one its history keeps); absent:
             *     the live one.
             */
            version?: number | null;
        };
        /** @description The HTTP response a replayed request got. */
        ReplayResponse: {
            /** @description The body as text; absent when it is not UTF-8 (then `body_base64`). */
            body?: string | null;
            body_base64?: string | null;
            /** @description Lower-case names; repeated headers joined with ", ". */
            headers: {
                [key: string]: string;
            };
            /** Format: int32 */
            status: number;
        };
        /** @description `ctx.request.body`. */
        RequestBody: {
            /** @enum {string} */
            kind: "empty";
        } | {
            /** @enum {string} */
            kind: "json";
            /** @description A JSON content type, parsed. */
            value: unknown;
        } | {
            /** @enum {string} */
            kind: "text";
            /** @description Any other content type, valid UTF-8: a string. */
            value: string;
        } | {
            /** @enum {string} */
            kind: "bytes";
            /**
             * Format: byte
             * @description Any other content type, not UTF-8: a blob (base64 on the wire).
             */
            value: string;
        };
        /**
         * Format: uuid
         * @description One incoming request; nested executions share it.
         */
        RequestId: string;
        /** @description A user route as stored. */
        Route: {
            app_id: components["schemas"]["AppId"];
            /** Format: date-time */
            created_at: string;
            id: components["schemas"]["RouteId"];
            /** @description Upper-case methods; `None` for any method. */
            methods?: string[] | null;
            /** @description The normalised pattern text. */
            path: string;
            script_id: components["schemas"]["ScriptId"];
        };
        /** @description `POST /routes/check`'s answer. */
        RouteCheck: {
            conflicts: components["schemas"]["RouteTarget"][];
            error?: string | null;
            ok: boolean;
        };
        /**
         * Format: uuid
         * @description A user route (path pattern → script).
         */
        RouteId: string;
        /** @description `GET /routes/match`'s answer. */
        RouteLookup: {
            app_id?: null | components["schemas"]["AppId"];
            host_params?: {
                [key: string]: string;
            } | null;
            matched: boolean;
            params?: {
                [key: string]: string;
            } | null;
            rest?: string | null;
            route_id?: null | components["schemas"]["RouteId"];
            script_id?: null | components["schemas"]["ScriptId"];
        };
        /** @description Where a route leads (and what it is, for conflict reports). */
        RouteTarget: {
            id: components["schemas"]["RouteId"];
            /** @description `None`: any method. */
            methods?: string[] | null;
            path: string;
            script_id: components["schemas"]["ScriptId"];
        };
        /** @description A script's requested limits. Unknown keys are refused when parsing. */
        SandboxOverrides: {
            /** Format: int64 */
            max_array_size?: number | null;
            /** Format: int64 */
            max_call_levels?: number | null;
            /** Format: int64 */
            max_expr_depth?: number | null;
            /** Format: int64 */
            max_map_size?: number | null;
            /** Format: int64 */
            max_operations?: number | null;
            /** Format: int64 */
            max_string_size?: number | null;
            /** Format: int64 */
            timeout_ms?: number | null;
        };
        /** @description One version of a script, as stored and as executed. */
        Script: {
            app_id: components["schemas"]["AppId"];
            /** Format: date-time */
            created_at: string;
            description: string;
            id: components["schemas"]["ScriptId"];
            name: components["schemas"]["ScriptName"];
            sandbox: components["schemas"]["SandboxOverrides"];
            source: string;
            /** Format: date-time */
            updated_at: string;
            /**
             * Format: int64
             * @description Starts at 1; every update adds one. Compiled ASTs are cached per version.
             */
            version: number;
        };
        /**
         * Format: uuid
         * @description A script, stable across versions.
         */
        ScriptId: string;
        /** @description 1 to 64 characters of a-z, 0-9, '_' and '-' */
        ScriptName: string;
        /**
         * @description What a script's executions add up to (`script_stats`), as the scripts
         *     list shows it.
         */
        ScriptStats: {
            /**
             * Format: int64
             * @description Of those, the ones that did not end `ok`.
             */
            errors: number;
            /**
             * Format: int64
             * @description Executions ever recorded, of every kind.
             */
            invocations: number;
            /**
             * @description The last 24 hours: executions, errors, and percentiles of duration
             *     and operations (usage.rs).
             */
            last_day: components["schemas"]["DayUsage"];
            /** Format: date-time */
            last_run_at?: string | null;
            last_status?: null | components["schemas"]["ExecStatus"];
        };
        /** @description An item of `GET /scripts`: the script and what its executions add up to. */
        ScriptSummary: components["schemas"]["Script"] & {
            stats: components["schemas"]["ScriptStats"];
        };
        /** @description One saved version of a script, with its source. */
        ScriptVersion: {
            /** Format: date-time */
            created_at: string;
            /**
             * @description The username of who saved it; null for versions saved before
             *     PiCloud kept history.
             */
            created_by?: string | null;
            description: string;
            /** @description Whether it is the version that runs now. */
            live: boolean;
            /** @description Why it was saved; empty when no message was given. */
            message: string;
            sandbox: components["schemas"]["SandboxOverrides"];
            script_id: components["schemas"]["ScriptId"];
            source: string;
            /** Format: int64 */
            version: number;
        };
        /** @description A version as the history lists it: without its source. */
        ScriptVersionSummary: {
            /** Format: date-time */
            created_at: string;
            created_by?: string | null;
            description: string;
            live: boolean;
            message: string;
            sandbox: components["schemas"]["SandboxOverrides"];
            /**
             * Format: int64
             * @description The source's size in bytes.
             */
            source_bytes: number;
            /** Format: int64 */
            version: number;
        };
        /** @description A secret as the admin API shows it: never its value. */
        SecretInfo: {
            /** @example STRIPE_KEY */
            name: string;
            /** Format: date-time */
            updated_at: string;
            /** @description The username of who set it last. */
            updated_by: string;
        };
        /** @description A secret's new value. */
        SecretValue: {
            /** @description At most 64 KiB of UTF-8. Never shown again by the API. */
            value: string;
        };
        /** @description What an app is made of at one moment. */
        Snapshot: {
            /** @description By pattern. */
            domains: components["schemas"]["ReleasedDomain"][];
            /** @description By path. */
            routes: components["schemas"]["ReleasedRoute"][];
            /** @description By name. */
            scripts: components["schemas"]["ReleasedScript"][];
            /** @description Oldest first. */
            triggers: components["schemas"]["ReleasedTrigger"][];
        };
        /** @description A trigger as the admin API shows it. */
        Trigger: {
            app_id: components["schemas"]["AppId"];
            collection?: string | null;
            /** Format: date-time */
            created_at: string;
            dead_letter_script_id?: null | components["schemas"]["ScriptId"];
            /** @description A KV trigger's events. */
            events?: components["schemas"]["KvEvent"][] | null;
            id: components["schemas"]["TriggerId"];
            kind: components["schemas"]["TriggerKind"];
            /** Format: int32 */
            max_attempts?: number | null;
            /**
             * Format: date-time
             * @description A cron trigger's next tick (UTC).
             */
            next_run_at?: string | null;
            schedule?: string | null;
            script_id: components["schemas"]["ScriptId"];
            /** @description What the dispatcher did with this trigger's events. */
            stats: components["schemas"]["TriggerStats"];
        };
        /**
         * Format: uuid
         * @description A KV or cron trigger of an app.
         */
        TriggerId: string;
        /**
         * @description What fires a trigger.
         * @enum {string}
         */
        TriggerKind: "kv" | "cron";
        TriggerStats: {
            /** Format: int64 */
            dead_lettered: number;
            /** Format: int64 */
            delivered: number;
            /** Format: int64 */
            retried: number;
        };
        /**
         * @description At least one of the fields (`minProperties: 1` is set in
         *     [`crate::openapi::document`]: utoipa 5's `min_properties` writes
         *     `maxProperties`).
         */
        UpdateScriptBody: {
            description?: string | null;
            /** @description Kept with the new version in the script's history (at most 1 KiB). */
            message?: string | null;
            sandbox?: null | components["schemas"]["SandboxOverrides"];
            source?: string | null;
        };
        /**
         * @description One point of a series: what the executions that started in
         *     `[at, at + step)` added up to.
         */
        UsagePoint: {
            /** Format: date-time */
            at: string;
            /** @description Durations in milliseconds. */
            duration_ms: components["schemas"]["Percentiles"];
            /** Format: int64 */
            errors: number;
            /** Format: int64 */
            invocations: number;
            operations: components["schemas"]["Percentiles"];
        };
        /**
         * @description A script's executions over the last hour or day, oldest point first;
         *     every step of the window has a point, empty ones with zero invocations.
         */
        UsageSeries: {
            points: components["schemas"]["UsagePoint"][];
            /** Format: int64 */
            step_seconds: number;
            window: components["schemas"]["Window"];
        };
        User: {
            /** Format: date-time */
            created_at: string;
            id: components["schemas"]["UserId"];
            role: components["schemas"]["UserRole"];
            username: string;
        };
        /**
         * Format: uuid
         * @description An admin user.
         */
        UserId: string;
        /**
         * @description Instance role of a user.
         * @enum {string}
         */
        UserRole: "admin" | "member";
        /**
         * @description How far back a series looks.
         * @enum {string}
         */
        Window: "hour" | "day";
    };
    responses: {
        /** @description The request is not valid: `bad_request` (body, query), `invalid_id` (a path id that is not a UUID), `invalid_name`, `compile_error` (with `line` and `column`), `source_too_large`, `sandbox_ceiling`, `reserved_path` */
        BadRequest: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["Error"];
            };
        };
        /** @description `conflict` (the name or pattern is taken, the last owner or admin, the `default` app) or `route_conflict` (with `conflicts`) */
        Conflict: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["Error"];
            };
        };
        /** @description `forbidden`: signed in, but the caller's role does not allow this (or a cookie-authenticated change came without this server's Origin) */
        Forbidden: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["Error"];
            };
        };
        /** @description `not_found`: it does not exist, or the caller has no role in its app */
        NotFound: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["Error"];
            };
        };
        /** @description `payload_too_large`: the body is over `PICLOUD_MAX_BODY_BYTES` */
        PayloadTooLarge: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["Error"];
            };
        };
        /** @description `too_many_attempts`: too many failed logins for this username from this address; `Retry-After` says when to try again */
        TooManyAttempts: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["Error"];
            };
        };
        /** @description `unauthorized`: no, an unknown or an expired session or token (`invalid_credentials` for a wrong login) */
        Unauthorized: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["Error"];
            };
        };
        /** @description `unsupported_media_type`: the body must be JSON, with `Content-Type: application/json` */
        UnsupportedMediaType: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["Error"];
            };
        };
    };
    parameters: never;
    requestBodies: never;
    headers: never;
    pathItems: never;
}
export type $defs = Record<string, never>;
export interface operations {
    list_apps: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Items_App"];
                };
            };
            401: components["responses"]["Unauthorized"];
        };
    };
    create_app: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["CreateAppBody"];
            };
        };
        responses: {
            /** @description Created */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["App"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            409: components["responses"]["Conflict"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
        };
    };
    get_app: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /**
                 * @description An app id or name
                 * @example default
                 */
                app: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["App"];
                };
            };
            401: components["responses"]["Unauthorized"];
            404: components["responses"]["NotFound"];
        };
    };
    delete_app: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /**
                 * @description An app id or name
                 * @example default
                 */
                app: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Deleted */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
        };
    };
    update_app: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /**
                 * @description An app id or name
                 * @example default
                 */
                app: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["AppUpdate"];
            };
        };
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["App"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
        };
    };
    list_dead_letters: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /**
                 * @description An app id or name
                 * @example default
                 */
                app: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Items_DeadLetter"];
                };
            };
            401: components["responses"]["Unauthorized"];
            404: components["responses"]["NotFound"];
        };
    };
    list_domains: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /**
                 * @description An app id or name
                 * @example default
                 */
                app: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Items_Domain"];
                };
            };
            401: components["responses"]["Unauthorized"];
            404: components["responses"]["NotFound"];
        };
    };
    claim_domain: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /**
                 * @description An app id or name
                 * @example default
                 */
                app: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["ClaimBody"];
            };
        };
        responses: {
            /** @description Claimed */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Domain"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
        };
    };
    release_domain: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /**
                 * @description An app id or name
                 * @example default
                 */
                app: string;
                /** @description The claim's id */
                id: components["schemas"]["DomainId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Released */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
        };
    };
    kv_collections: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /**
                 * @description An app id or name
                 * @example default
                 */
                app: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Items_KvCollection"];
                };
            };
            401: components["responses"]["Unauthorized"];
            404: components["responses"]["NotFound"];
        };
    };
    kv_page: {
        parameters: {
            query?: {
                /** @description The `cursor` of the previous page; absent: the first page. */
                cursor?: string;
                /** @description Keys per page (default 100). */
                limit?: number;
                /** @description Only keys that start with this. */
                prefix?: string;
            };
            header?: never;
            path: {
                /**
                 * @description An app id or name
                 * @example default
                 */
                app: string;
                /** @description A collection name */
                collection: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["KvPage"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            404: components["responses"]["NotFound"];
        };
    };
    kv_get: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /**
                 * @description An app id or name
                 * @example default
                 */
                app: string;
                /** @description A collection name */
                collection: string;
                /** @description A key: 1 to 512 bytes of UTF-8 */
                key: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["KvItem"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            404: components["responses"]["NotFound"];
        };
    };
    kv_put: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /**
                 * @description An app id or name
                 * @example default
                 */
                app: string;
                /** @description A collection name */
                collection: string;
                /** @description A key: 1 to 512 bytes of UTF-8 */
                key: string;
            };
            cookie?: never;
        };
        /** @description The value: any JSON */
        requestBody: {
            content: {
                "application/json": unknown;
            };
        };
        responses: {
            /** @description Replaced */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["KvItem"];
                };
            };
            /** @description Created */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["KvItem"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
        };
    };
    kv_delete: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /**
                 * @description An app id or name
                 * @example default
                 */
                app: string;
                /** @description A collection name */
                collection: string;
                /** @description A key: 1 to 512 bytes of UTF-8 */
                key: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Deleted */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
        };
    };
    list_members: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /**
                 * @description An app id or name
                 * @example default
                 */
                app: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Items_Member"];
                };
            };
            401: components["responses"]["Unauthorized"];
            404: components["responses"]["NotFound"];
        };
    };
    set_member: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /**
                 * @description An app id or name
                 * @example default
                 */
                app: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["MemberBody"];
            };
        };
        responses: {
            /** @description The member's role changed */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Member"];
                };
            };
            /** @description Added */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Member"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
        };
    };
    remove_member: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /**
                 * @description An app id or name
                 * @example default
                 */
                app: string;
                /** @description The member's user id */
                user: components["schemas"]["UserId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Removed */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
        };
    };
    list_releases: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /**
                 * @description An app id or name
                 * @example default
                 */
                app: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Items_Release"];
                };
            };
            401: components["responses"]["Unauthorized"];
            404: components["responses"]["NotFound"];
        };
    };
    create_release: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /**
                 * @description An app id or name
                 * @example default
                 */
                app: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["NewReleaseBody"];
            };
        };
        responses: {
            /** @description Nothing changed since the newest release: it */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Release"];
                };
            };
            /** @description A new release */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Release"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
        };
    };
    rollback_release: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /**
                 * @description An app id or name
                 * @example default
                 */
                app: string;
                /** @description The release's id or number */
                release: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The app already matches the release: the newest release */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Release"];
                };
            };
            /** @description Rolled back: the release that records it */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Release"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
        };
    };
    secret_list: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /**
                 * @description An app id or name
                 * @example default
                 */
                app: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The app's secrets, by name (no values) */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Items_SecretInfo"];
                };
            };
            401: components["responses"]["Unauthorized"];
            404: components["responses"]["NotFound"];
        };
    };
    secret_put: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /**
                 * @description An app id or name
                 * @example default
                 */
                app: string;
                /** @description A secret name */
                name: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["SecretValue"];
            };
        };
        responses: {
            /** @description Replaced */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["SecretInfo"];
                };
            };
            /** @description Created */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["SecretInfo"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
        };
    };
    secret_delete: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /**
                 * @description An app id or name
                 * @example default
                 */
                app: string;
                /** @description A secret name */
                name: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Deleted */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
        };
    };
    list_triggers: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /**
                 * @description An app id or name
                 * @example default
                 */
                app: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Items_Trigger"];
                };
            };
            401: components["responses"]["Unauthorized"];
            404: components["responses"]["NotFound"];
        };
    };
    create_trigger: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /**
                 * @description An app id or name
                 * @example default
                 */
                app: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["NewTrigger"];
            };
        };
        responses: {
            /** @description Created */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Trigger"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
        };
    };
    audit_log: {
        parameters: {
            query?: {
                /**
                 * @description An app id or name; absent: every app the caller owns (everything,
                 *     for an instance admin).
                 */
                app?: string;
                /** @description Only entries older than this entry id (the next page). */
                before?: string;
                /** @description How many, newest first (default 100). */
                limit?: number;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Items_AuditEntry"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
        };
    };
    login: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["LoginBody"];
            };
        };
        responses: {
            /** @description Signed in; the token is also set as the HttpOnly session cookie */
            200: {
                headers: {
                    /** @description The session cookie (on a host that serves the dashboard) */
                    "set-cookie"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["LoginAnswer"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            429: components["responses"]["TooManyAttempts"];
        };
    };
    logout: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Signed out */
            204: {
                headers: {
                    /** @description Clears the session cookie */
                    "set-cookie"?: string;
                    [name: string]: unknown;
                };
                content?: never;
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
        };
    };
    me: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["MeAnswer"];
                };
            };
            401: components["responses"]["Unauthorized"];
        };
    };
    delete_dead_letter: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The dead letter's id */
                id: components["schemas"]["DeadLetterId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Deleted */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
        };
    };
    retry_dead_letter: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The dead letter's id */
                id: components["schemas"]["DeadLetterId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Queued again */
            202: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
        };
    };
    get_execution: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The execution's id */
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ExecutionRecord"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            404: components["responses"]["NotFound"];
        };
    };
    replay_execution: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The execution's id */
                id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["ReplayOptions"];
            };
        };
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Replay"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
        };
    };
    list_routes: {
        parameters: {
            query?: {
                /** @description An app id or name; absent: every app the caller can see. */
                app?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Items_Route"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            404: components["responses"]["NotFound"];
        };
    };
    check_route: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["CheckRouteBody"];
            };
        };
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RouteCheck"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
        };
    };
    match_route: {
        parameters: {
            query: {
                /** @description The request's Host; absent: the `default` app. */
                host?: string;
                /** @description Absent: `GET`. */
                method?: string;
                path: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RouteLookup"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            404: components["responses"]["NotFound"];
        };
    };
    delete_route: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The route's id */
                id: components["schemas"]["RouteId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Deleted */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
        };
    };
    list_scripts: {
        parameters: {
            query?: {
                /** @description An app id or name; absent: every app the caller can see. */
                app?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Items_ScriptSummary"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            404: components["responses"]["NotFound"];
        };
    };
    create_script: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["CreateScriptBody"];
            };
        };
        responses: {
            /** @description Created */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Script"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
        };
    };
    get_script: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The script's id */
                id: components["schemas"]["ScriptId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Script"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            404: components["responses"]["NotFound"];
        };
    };
    update_script: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The script's id */
                id: components["schemas"]["ScriptId"];
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["UpdateScriptBody"];
            };
        };
        responses: {
            /** @description The new version */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Script"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
        };
    };
    delete_script: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The script's id */
                id: components["schemas"]["ScriptId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Deleted */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
        };
    };
    list_executions: {
        parameters: {
            query?: {
                /** @description How many, newest first (default 50). */
                limit?: number;
                /** @description Only executions that ended so (`ok`, `error`, `timeout`, `limit_exceeded`). */
                status?: components["schemas"]["ExecStatus"];
                /**
                 * @description Only the executions of one request: the `picloud-request-id` header
                 *     of a data-plane answer.
                 */
                request_id?: components["schemas"]["RequestId"];
            };
            header?: never;
            path: {
                /** @description The script's id */
                id: components["schemas"]["ScriptId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Items_ExecutionRecord"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            404: components["responses"]["NotFound"];
        };
    };
    create_route: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The script's id */
                id: components["schemas"]["ScriptId"];
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["CreateRouteBody"];
            };
        };
        responses: {
            /** @description Created */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Route"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
        };
    };
    script_usage: {
        parameters: {
            query?: {
                /**
                 * @description `hour` (60 points, a minute each; the default) or `day` (96 points,
                 *     a quarter of an hour each).
                 */
                window?: components["schemas"]["Window"];
            };
            header?: never;
            path: {
                /** @description The script's id */
                id: components["schemas"]["ScriptId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UsageSeries"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            404: components["responses"]["NotFound"];
        };
    };
    list_script_versions: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The script's id */
                id: components["schemas"]["ScriptId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Items_ScriptVersionSummary"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            404: components["responses"]["NotFound"];
        };
    };
    get_script_version: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The script's id */
                id: components["schemas"]["ScriptId"];
                /** @description The version's number */
                version: number;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ScriptVersion"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            404: components["responses"]["NotFound"];
        };
    };
    list_tokens: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Items_ApiToken"];
                };
            };
            401: components["responses"]["Unauthorized"];
        };
    };
    create_token: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["CreateTokenBody"];
            };
        };
        responses: {
            /** @description Created */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["CreatedToken"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
        };
    };
    revoke_token: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The token's id */
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Revoked */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
        };
    };
    delete_trigger: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The trigger's id */
                id: components["schemas"]["TriggerId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Deleted */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
        };
    };
    list_users: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Items_User"];
                };
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
        };
    };
    create_user: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["CreateUserBody"];
            };
        };
        responses: {
            /** @description Created */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["User"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            409: components["responses"]["Conflict"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
        };
    };
    delete_user: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The user's id */
                id: components["schemas"]["UserId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Deleted */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
        };
    };
    serve: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description An OpenAPI 3.1 document */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": Record<string, never>;
                };
            };
        };
    };
}
