//! The OCI distribution API v2, spoken to any registry: manifests by their original bytes with
//! every manifest media type accepted, monolithic blob uploads, bearer and basic auth, and
//! bounded retries. Credentials never appear in an error: every message passes `redact`.

use std::collections::HashMap;
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE, LOCATION};
use reqwest::{Method, StatusCode};
use tokio::sync::Mutex;

use super::manifest::{Manifest, ACCEPT_MANIFESTS};
use super::retry::{is_retryable_status, RetryPolicy};
use super::{Blob, Connection, Registry, RegistryError};
use crate::runner::reference::Reference;
use crate::runner::sha256_digest;

/// A user name and password (or token) for a registry.
#[derive(Clone)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credentials({}, ***)", self.username)
    }
}

impl Credentials {
    /// `LAMBDA_GATE_REGISTRY_USERNAME`/`_PASSWORD`, else Docker's `~/.docker/config.json`
    /// (`auths.<host>.auth`), else none.
    pub fn for_registry(registry: &str) -> Option<Credentials> {
        if let (Ok(username), Ok(password)) = (
            std::env::var("LAMBDA_GATE_REGISTRY_USERNAME"),
            std::env::var("LAMBDA_GATE_REGISTRY_PASSWORD"),
        ) {
            return Some(Credentials { username, password });
        }
        let config_dir = std::env::var_os("DOCKER_CONFIG")
            .map(std::path::PathBuf::from)
            .or_else(|| {
                std::env::var_os("HOME").map(|h| std::path::Path::new(&h).join(".docker"))
            })?;
        let text = std::fs::read(config_dir.join("config.json")).ok()?;
        docker_config_credentials(&text, registry)
    }

    fn basic(&self) -> String {
        let pair = format!("{}:{}", self.username, self.password);
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(pair)
        )
    }
}

/// Credentials for `registry` in a Docker `config.json`.
pub fn docker_config_credentials(config: &[u8], registry: &str) -> Option<Credentials> {
    let value: serde_json::Value = serde_json::from_slice(config).ok()?;
    let auths = value.get("auths")?.as_object()?;
    let entry = auths.iter().find_map(|(key, entry)| {
        let host = key
            .trim_start_matches("https://")
            .trim_start_matches("http://")
            .split('/')
            .next()
            .unwrap_or_default();
        host.eq_ignore_ascii_case(registry).then_some(entry)
    })?;
    let encoded = entry.get("auth")?.as_str()?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    let (username, password) = std::str::from_utf8(&decoded).ok()?.split_once(':')?;
    Some(Credentials {
        username: username.to_string(),
        password: password.to_string(),
    })
}

/// One registry, one client.
pub struct OciRegistry {
    client: reqwest::Client,
    /// `http://host:port` or `https://host`.
    base: String,
    /// For messages: `host:port`.
    name: String,
    credentials: Option<Credentials>,
    /// The `Authorization` value that last worked, by repository.
    authorization: Mutex<HashMap<String, String>>,
    retry: RetryPolicy,
}

/// A registry's complete answer (the body read inside the retry loop, so a connection dropped
/// mid-body is retried too).
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl OciRegistry {
    pub fn new(
        reference: &Reference,
        connection: &Connection,
    ) -> Result<OciRegistry, RegistryError> {
        let scheme = if reference.is_insecure(&connection.insecure_registries) {
            "http"
        } else {
            "https"
        };
        OciRegistry::with_base(
            &reference.registry,
            &format!("{scheme}://{}", reference.registry),
            Credentials::for_registry(&reference.registry),
        )
    }

    /// A registry at `base` (`scheme://host[:port]`), named `name` in messages.
    pub fn with_base(
        name: &str,
        base: &str,
        credentials: Option<Credentials>,
    ) -> Result<OciRegistry, RegistryError> {
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .read_timeout(Duration::from_secs(120))
            // Redirects to blob storage must not carry the registry's credentials.
            .redirect(reqwest::redirect::Policy::limited(5))
            .user_agent(concat!("lambda-gate/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| RegistryError::Transport {
                registry: name.to_string(),
                what: "client".into(),
                reason: e.to_string(),
            })?;
        Ok(OciRegistry {
            client,
            base: base.trim_end_matches('/').to_string(),
            name: name.to_string(),
            credentials,
            authorization: Mutex::new(HashMap::new()),
            retry: retry_policy_from_env(),
        })
    }

    /// Replaces every credential this client knows with `***`.
    pub fn redact(&self, text: &str) -> String {
        let mut text = text.to_string();
        if let Some(credentials) = &self.credentials {
            for secret in [
                credentials.password.clone(),
                credentials.basic().trim_start_matches("Basic ").to_string(),
            ] {
                if secret.len() >= 4 {
                    text = text.replace(&secret, "***");
                }
            }
        }
        if let Ok(cached) = self.authorization.try_lock() {
            for value in cached.values() {
                if let Some((_, secret)) = value.split_once(' ') {
                    if secret.len() >= 4 {
                        text = text.replace(secret, "***");
                    }
                }
            }
        }
        text
    }

    fn transport(&self, what: &str, error: &reqwest::Error) -> RegistryError {
        // reqwest's Display hides the cause chain; the cause says what actually went wrong.
        let mut chain = error.to_string();
        let mut root = chain.clone();
        let mut source = std::error::Error::source(error);
        while let Some(cause) = source {
            root = cause.to_string();
            chain = format!("{chain}: {cause}");
            source = cause.source();
        }
        let reason = if error.is_connect() {
            format!(
                "cannot connect to {}: {root}: check that the registry runs there and that the name is right",
                self.base
            )
        } else if error.is_timeout() {
            format!(
                "{} did not answer in time: check the network; transient faults are retried",
                self.base
            )
        } else {
            chain
        };
        RegistryError::Transport {
            registry: self.name.clone(),
            what: what.to_string(),
            reason: self.redact(&reason),
        }
    }

    fn status(&self, what: &str, answer: &Answer) -> RegistryError {
        let body = String::from_utf8_lossy(&answer.body[..answer.body.len().min(512)]);
        RegistryError::Status {
            registry: self.name.clone(),
            what: what.to_string(),
            status: answer.status.as_u16(),
            body: self.redact(body.trim()),
        }
    }

    /// Sends a request, authenticating on a 401 challenge and retrying transient failures.
    async fn send(
        &self,
        method: Method,
        url: &str,
        repository: &str,
        headers: HeaderMap,
        body: Option<Blob>,
        what: &str,
    ) -> Result<Answer, RegistryError> {
        let mut authenticated_now = false;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut request = self
                .client
                .request(method.clone(), url)
                .headers(headers.clone());
            if let Some(value) = self.authorization.lock().await.get(repository) {
                request = request.header(AUTHORIZATION, value);
            }
            if let Some(body) = &body {
                request = match body {
                    Blob::Bytes(bytes) => request.body(bytes.clone()),
                    // Read as it is sent, in chunks: a layer is never held whole in memory.
                    Blob::File { path, size } => {
                        let file = tokio::fs::File::open(path).await.map_err(|e| {
                            RegistryError::Invalid(format!(
                                "{what}: cannot read {}: {e}",
                                path.display()
                            ))
                        })?;
                        request
                            .header(reqwest::header::CONTENT_LENGTH, *size)
                            .body(reqwest::Body::wrap_stream(file_chunks(file)))
                    }
                };
            }
            let outcome = match request.send().await {
                Ok(response) => {
                    let status = response.status();
                    let headers = response.headers().clone();
                    response.bytes().await.map(|body| Answer {
                        status,
                        headers,
                        body,
                    })
                }
                Err(error) => Err(error),
            };
            let answer = match outcome {
                Ok(answer) => answer,
                Err(error) if attempt < self.retry.attempts => {
                    let _ = error;
                    tokio::time::sleep(self.retry.delay(attempt, None)).await;
                    continue;
                }
                Err(error) => return Err(self.transport(what, &error)),
            };
            if answer.status == StatusCode::UNAUTHORIZED && !authenticated_now {
                authenticated_now = true;
                attempt -= 1;
                let value = self.authenticate(&answer.headers, repository).await?;
                self.authorization
                    .lock()
                    .await
                    .insert(repository.to_string(), value);
                continue;
            }
            if answer.status == StatusCode::UNAUTHORIZED || answer.status == StatusCode::FORBIDDEN {
                return Err(RegistryError::Unauthorized {
                    registry: self.name.clone(),
                    reason: format!(
                        "{what}: HTTP {}{}",
                        answer.status.as_u16(),
                        if self.credentials.is_none() {
                            " (no credentials: set LAMBDA_GATE_REGISTRY_USERNAME and \
                             LAMBDA_GATE_REGISTRY_PASSWORD, or `docker login`)"
                        } else {
                            ""
                        }
                    ),
                });
            }
            if is_retryable_status(answer.status.as_u16()) && attempt < self.retry.attempts {
                let retry_after = answer
                    .headers
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map(Duration::from_secs);
                tokio::time::sleep(self.retry.delay(attempt, retry_after)).await;
                continue;
            }
            return Ok(answer);
        }
    }

    /// The `Authorization` value a 401 challenge asks for.
    async fn authenticate(
        &self,
        headers: &HeaderMap,
        repository: &str,
    ) -> Result<String, RegistryError> {
        let challenge = headers
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let unauthorized = |reason: &str| RegistryError::Unauthorized {
            registry: self.name.clone(),
            reason: reason.to_string(),
        };
        match parse_challenge(challenge) {
            Some(Challenge::Basic) => self
                .credentials
                .as_ref()
                .map(Credentials::basic)
                .ok_or_else(|| {
                    unauthorized(
                        "the registry wants a user name and password: set \
                         LAMBDA_GATE_REGISTRY_USERNAME and LAMBDA_GATE_REGISTRY_PASSWORD, or `docker login`",
                    )
                }),
            Some(Challenge::Bearer { realm, params }) => {
                let mut query: Vec<(String, String)> = params
                    .into_iter()
                    .filter(|(k, _)| k == "service" || k == "scope")
                    .collect();
                if !query.iter().any(|(k, _)| k == "scope") {
                    query.push(("scope".into(), format!("repository:{repository}:pull,push")));
                }
                let mut request = self.client.get(&realm).query(&query);
                if let Some(credentials) = &self.credentials {
                    request = request.header(AUTHORIZATION, credentials.basic());
                }
                let response = request
                    .send()
                    .await
                    .map_err(|e| self.transport("token request", &e))?;
                if !response.status().is_success() {
                    return Err(unauthorized(&format!(
                        "the token service answered HTTP {}",
                        response.status().as_u16()
                    )));
                }
                let body: serde_json::Value = response
                    .json()
                    .await
                    .map_err(|e| self.transport("token response", &e))?;
                let token = body
                    .get("token")
                    .or_else(|| body.get("access_token"))
                    .and_then(|t| t.as_str())
                    .ok_or_else(|| unauthorized("the token service sent no token"))?;
                Ok(format!("Bearer {token}"))
            }
            None => Err(unauthorized("HTTP 401 without a challenge this client understands")),
        }
    }

    fn url(&self, repository: &str, kind: &str, reference: &str) -> String {
        format!("{}/v2/{repository}/{kind}/{reference}", self.base)
    }
}

fn retry_policy_from_env() -> RetryPolicy {
    let mut policy = RetryPolicy::default();
    if let Some(attempts) = std::env::var("LAMBDA_GATE_REGISTRY_ATTEMPTS")
        .ok()
        .and_then(|v| v.parse::<u32>().ok())
    {
        policy.attempts = attempts.max(1);
    }
    policy
}

impl Registry for OciRegistry {
    async fn manifest(
        &self,
        repository: &str,
        reference: &str,
    ) -> Result<Option<Manifest>, RegistryError> {
        let mut headers = HeaderMap::new();
        headers.insert(
            ACCEPT,
            HeaderValue::from_str(&ACCEPT_MANIFESTS.join(", ")).expect("static header"),
        );
        let what = format!("GET manifest {repository}:{reference}");
        let url = self.url(repository, "manifests", reference);
        let answer = self
            .send(Method::GET, &url, repository, headers, None, &what)
            .await?;
        if answer.status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !answer.status.is_success() {
            return Err(self.status(&what, &answer));
        }
        let media_type = answer
            .headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(';').next().unwrap_or(v).trim().to_string());
        let manifest = Manifest::fetched(
            &self.name,
            &what,
            reference,
            answer.body,
            media_type.as_deref(),
        )?;
        Ok(Some(manifest))
    }

    async fn put_manifest(
        &self,
        repository: &str,
        reference: &str,
        manifest: &Manifest,
    ) -> Result<(), RegistryError> {
        let mut headers = HeaderMap::new();
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_str(&manifest.media_type)
                .map_err(|_| RegistryError::Invalid("invalid media type".into()))?,
        );
        let what = format!("PUT manifest {repository}:{reference}");
        let url = self.url(repository, "manifests", reference);
        let answer = self
            .send(
                Method::PUT,
                &url,
                repository,
                headers,
                Some(Blob::Bytes(manifest.bytes.clone())),
                &what,
            )
            .await?;
        if !answer.status.is_success() {
            return Err(self.status(&what, &answer));
        }
        if let Some(stored) = answer
            .headers
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
        {
            if stored != manifest.digest {
                return Err(RegistryError::DigestMismatch {
                    registry: self.name.clone(),
                    what,
                    expected: manifest.digest.clone(),
                    actual: stored.to_string(),
                });
            }
        }
        Ok(())
    }

    async fn has_blob(&self, repository: &str, digest: &str) -> Result<bool, RegistryError> {
        let what = format!("HEAD blob {digest}");
        let url = self.url(repository, "blobs", digest);
        let answer = self
            .send(
                Method::HEAD,
                &url,
                repository,
                HeaderMap::new(),
                None,
                &what,
            )
            .await?;
        match answer.status {
            StatusCode::OK => Ok(true),
            StatusCode::NOT_FOUND => Ok(false),
            _ => Err(self.status(&what, &answer)),
        }
    }

    async fn blob(&self, repository: &str, digest: &str) -> Result<Bytes, RegistryError> {
        let what = format!("GET blob {digest}");
        let url = self.url(repository, "blobs", digest);
        let answer = self
            .send(Method::GET, &url, repository, HeaderMap::new(), None, &what)
            .await?;
        if !answer.status.is_success() {
            return Err(self.status(&what, &answer));
        }
        Ok(answer.body)
    }

    async fn put_blob(
        &self,
        repository: &str,
        digest: &str,
        blob: Blob,
    ) -> Result<(), RegistryError> {
        if let Blob::Bytes(data) = &blob {
            if sha256_digest(data) != digest {
                return Err(RegistryError::Invalid(format!(
                    "blob {digest}: its content does not match its digest"
                )));
            }
        }
        // An upload session may not survive a dropped connection: a failed upload starts over.
        let mut last_error = None;
        for _ in 0..2 {
            match self.upload_once(repository, digest, &blob).await {
                Ok(()) => return Ok(()),
                Err(error) => last_error = Some(error),
            }
        }
        Err(last_error.unwrap_or_else(|| RegistryError::Invalid("upload failed".into())))
    }

    async fn referrers(
        &self,
        repository: &str,
        digest: &str,
    ) -> Result<Option<Vec<super::Descriptor>>, RegistryError> {
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_static(super::manifest::OCI_INDEX));
        let what = format!("GET referrers of {repository}@{digest}");
        let url = self.url(repository, "referrers", digest);
        let answer = self
            .send(Method::GET, &url, repository, headers, None, &what)
            .await?;
        // A registry with the API answers any digest with an index (empty when nothing refers
        // to it); one without it has no such route.
        if matches!(answer.status.as_u16(), 400 | 404 | 405 | 501) {
            return Ok(None);
        }
        if !answer.status.is_success() {
            return Err(self.status(&what, &answer));
        }
        let index = super::Manifest::parse(answer.body, Some(super::manifest::OCI_INDEX))
            .map_err(|e| RegistryError::Invalid(format!("{}: {what}: {e}", self.name)))?;
        match index.kind {
            super::ManifestKind::Index(descriptors) => Ok(Some(descriptors)),
            super::ManifestKind::Image { .. } => Err(RegistryError::Invalid(format!(
                "{}: {what}: the registry sent an image manifest, not an index",
                self.name
            ))),
        }
    }
}

impl OciRegistry {
    async fn upload_once(
        &self,
        repository: &str,
        digest: &str,
        blob: &Blob,
    ) -> Result<(), RegistryError> {
        let what = format!("start upload of {digest}");
        let url = format!("{}/v2/{repository}/blobs/uploads/", self.base);
        let answer = self
            .send(
                Method::POST,
                &url,
                repository,
                HeaderMap::new(),
                Some(Blob::Bytes(Bytes::new())),
                &what,
            )
            .await?;
        if answer.status != StatusCode::ACCEPTED {
            return Err(self.status(&what, &answer));
        }
        let location = answer
            .headers
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| RegistryError::Invalid(format!("{}: {what}: no Location", self.name)))?;
        let location = if location.starts_with('/') {
            format!("{}{location}", self.base)
        } else {
            location.to_string()
        };
        let separator = if location.contains('?') { '&' } else { '?' };
        let url = format!("{location}{separator}digest={digest}");
        let mut headers = HeaderMap::new();
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/octet-stream"),
        );
        let what = format!("upload {digest}");
        let answer = self
            .send(
                Method::PUT,
                &url,
                repository,
                headers,
                Some(blob.clone()),
                &what,
            )
            .await?;
        if answer.status != StatusCode::CREATED {
            return Err(self.status(&what, &answer));
        }
        Ok(())
    }
}

/// A file's bytes as a stream of 1 MiB chunks.
fn file_chunks(
    file: tokio::fs::File,
) -> impl futures_util::Stream<Item = std::io::Result<Bytes>> + Send + 'static {
    use tokio::io::AsyncReadExt;
    futures_util::stream::try_unfold(file, |mut file| async move {
        let mut chunk = bytes::BytesMut::with_capacity(1 << 20);
        while chunk.len() < chunk.capacity() {
            if file.read_buf(&mut chunk).await? == 0 {
                break;
            }
        }
        Ok((!chunk.is_empty()).then(|| (chunk.freeze(), file)))
    })
}

/// A `WWW-Authenticate` challenge.
#[derive(Debug, PartialEq, Eq)]
pub enum Challenge {
    Basic,
    Bearer {
        realm: String,
        params: Vec<(String, String)>,
    },
}

/// Parses `Bearer realm="…",service="…",scope="…"` or `Basic realm="…"`.
pub fn parse_challenge(header: &str) -> Option<Challenge> {
    let header = header.trim();
    let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
    if scheme.eq_ignore_ascii_case("basic") {
        return Some(Challenge::Basic);
    }
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let mut params = Vec::new();
    let mut rest = rest.trim();
    while !rest.is_empty() {
        let (key, after) = rest.split_once('=')?;
        let key = key
            .trim()
            .trim_start_matches(',')
            .trim()
            .to_ascii_lowercase();
        let after = after.trim_start();
        let (value, remaining) = if let Some(quoted) = after.strip_prefix('"') {
            let end = quoted.find('"')?;
            (&quoted[..end], &quoted[end + 1..])
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (&after[..end], &after[end..])
        };
        params.push((key, value.to_string()));
        rest = remaining.trim_start().trim_start_matches(',').trim_start();
    }
    let realm = params.iter().find(|(k, _)| k == "realm")?.1.clone();
    if !(realm.starts_with("https://") || realm.starts_with("http://")) {
        return None;
    }
    Some(Challenge::Bearer { realm, params })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_challenge_is_parsed() {
        let challenge = parse_challenge(
            r#"Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:team/quote:pull,push""#,
        )
        .unwrap();
        let Challenge::Bearer { realm, params } = challenge else {
            panic!("not bearer")
        };
        assert_eq!(realm, "https://auth.example.com/token");
        assert!(params.contains(&("scope".into(), "repository:team/quote:pull,push".into())));
        assert!(params.contains(&("service".into(), "registry.example.com".into())));
    }

    #[test]
    fn malformed_challenges_are_not_guessed_at() {
        assert_eq!(
            parse_challenge(r#"Basic realm="x""#),
            Some(Challenge::Basic)
        );
        assert_eq!(parse_challenge("Negotiate abc"), None);
        assert_eq!(parse_challenge(r#"Bearer realm="unterminated"#), None);
        assert_eq!(parse_challenge(r#"Bearer service="x""#), None);
        assert_eq!(
            parse_challenge(r#"Bearer realm="file:///etc/passwd""#),
            None
        );
    }

    #[test]
    fn docker_config_credentials_match_the_host() {
        let auth = base64::engine::general_purpose::STANDARD.encode("ci:s3cret");
        let config =
            format!(r#"{{"auths":{{"https://registry.example.com":{{"auth":"{auth}"}}}}}}"#);
        let found = docker_config_credentials(config.as_bytes(), "registry.example.com").unwrap();
        assert_eq!(
            (found.username.as_str(), found.password.as_str()),
            ("ci", "s3cret")
        );
        assert!(docker_config_credentials(config.as_bytes(), "other.example.com").is_none());
        assert!(!format!("{found:?}").contains("s3cret"));
    }

    #[test]
    fn redact_hides_password_and_its_basic_encoding() {
        let registry = OciRegistry::with_base(
            "r",
            "http://127.0.0.1:1",
            Some(Credentials {
                username: "ci".into(),
                password: "hunter22".into(),
            }),
        )
        .unwrap();
        let basic = Credentials {
            username: "ci".into(),
            password: "hunter22".into(),
        }
        .basic();
        let text = registry.redact(&format!("failed with hunter22 and {basic}"));
        assert!(!text.contains("hunter22"));
        assert!(!text.contains(basic.trim_start_matches("Basic ")));
    }
}
