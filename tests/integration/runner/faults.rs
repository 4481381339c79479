//! The registry when it fails: a proxy in front of it answers 429/503 or drops connections,
//! and a registry that echoes credentials; pushes are retried, an interrupted push leaves no
//! partial tag, and no credential reaches the output.

use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use super::*;

/// A proxy in front of the registry that injects faults: `decide(n, request line)` says what
/// to do with the n-th request (0-based).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Fault {
    Pass,
    /// Answer 503 (or 429) without forwarding.
    Busy(u16),
    /// Close the connection without answering.
    Drop,
    /// Answer 401 demanding basic auth unless the request has credentials, then 500 with the
    /// request's Authorization header echoed in the body (a registry that leaks).
    EchoAuth,
}

pub(super) struct Proxy {
    pub(super) address: String,
    pub(super) requests: Arc<AtomicUsize>,
    pub(super) faults: Arc<AtomicUsize>,
}

pub(super) fn proxy(decide: impl Fn(usize, &str) -> Fault + Send + Sync + 'static) -> Proxy {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let requests = Arc::new(AtomicUsize::new(0));
    let faults = Arc::new(AtomicUsize::new(0));
    let decide = Arc::new(decide);
    let (counter, fault_counter) = (requests.clone(), faults.clone());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let (decide, counter, fault_counter) =
                (decide.clone(), counter.clone(), fault_counter.clone());
            std::thread::spawn(move || {
                let _ = serve(stream, &*decide, &counter, &fault_counter);
            });
        }
    });
    Proxy {
        address,
        requests,
        faults,
    }
}

fn serve(
    mut client: TcpStream,
    decide: &(dyn Fn(usize, &str) -> Fault + Send + Sync),
    counter: &AtomicUsize,
    faults: &AtomicUsize,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(client.try_clone()?);
    let mut head = String::new();
    let mut content_length = 0usize;
    let mut authorization = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let lower = line.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("content-length:") {
            content_length = v.trim().parse().unwrap_or(0);
        }
        if lower.starts_with("authorization:") {
            authorization = Some(line["authorization:".len()..].trim().to_string());
        }
        if lower.starts_with("connection:") {
            continue;
        }
        if line == "\r\n" {
            head.push_str("Connection: close\r\n\r\n");
            break;
        }
        head.push_str(&line);
    }
    let mut body = vec![0; content_length];
    reader.read_exact(&mut body)?;
    let n = counter.fetch_add(1, Ordering::SeqCst);
    let request_line = head.lines().next().unwrap_or_default().to_string();
    match decide(n, &request_line) {
        Fault::Pass => {}
        Fault::Busy(status) => {
            faults.fetch_add(1, Ordering::SeqCst);
            let reason = if status == 429 {
                "Too Many Requests"
            } else {
                "Service Unavailable"
            };
            return client.write_all(
                format!(
                    "HTTP/1.1 {status} {reason}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                )
                .as_bytes(),
            );
        }
        Fault::Drop => {
            faults.fetch_add(1, Ordering::SeqCst);
            return client.shutdown(std::net::Shutdown::Both);
        }
        Fault::EchoAuth => {
            faults.fetch_add(1, Ordering::SeqCst);
            let answer = match authorization {
                None => "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"test\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_string(),
                Some(value) => {
                    let body = format!("{{\"errors\":[{{\"message\":\"rejected {value}\"}}]}}");
                    format!("HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len())
                }
            };
            return client.write_all(answer.as_bytes());
        }
    }
    let mut upstream = TcpStream::connect(registry())?;
    upstream.write_all(head.as_bytes())?;
    upstream.write_all(&body)?;
    let mut response = Vec::new();
    upstream.read_to_end(&mut response)?;
    client.write_all(&response)
}

/// Every tag in `repository` names a complete image: its manifests and blobs all exist.
fn assert_tags_complete(repository: &str) {
    let list = Process::new("curl")
        .args([
            "-fsS",
            &format!("http://{}/v2/{repository}/tags/list", registry()),
        ])
        .output()
        .unwrap();
    if !list.status.success() {
        return; // no tag at all: nothing half-made
    }
    let tags: Value = serde_json::from_slice(&list.stdout).unwrap();
    for tag in tags["tags"].as_array().into_iter().flatten() {
        let reference = format!("{}/{repository}:{}", registry(), tag.as_str().unwrap());
        // skopeo copy reads every manifest and blob the tag reaches, or fails.
        let out = tempfile::tempdir().unwrap();
        tool(
            "skopeo",
            &[
                "copy",
                "-q",
                "--all",
                "--src-tls-verify=false",
                &format!("docker://{reference}"),
                &format!("dir:{}", out.path().display()),
            ],
        );
    }
}

#[test]
fn transient_registry_faults_are_retried_and_interrupted_pushes_leave_no_partial_tag() {
    let (_dir, project) = example_project();
    // Every third request answered 503/429 or dropped: the push still completes.
    let flaky = proxy(|n, _| match n % 6 {
        1 => Fault::Busy(503),
        3 => Fault::Drop,
        5 => Fault::Busy(429),
        _ => Fault::Pass,
    });
    let name = unique("team/flaky");
    let output = build(
        &project,
        &format!("{}/{name}", flaky.address),
        &["--tag", "v1", "--no-smoke"],
    );
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    assert!(
        flaky.faults.load(Ordering::SeqCst) >= 3,
        "faults were injected"
    );
    let digest = json(&output)["index_digest"].as_str().unwrap().to_string();
    let stored = tool(
        "skopeo",
        &[
            "inspect",
            "--raw",
            "--tls-verify=false",
            &format!("docker://{}/{name}:v1", registry()),
        ],
    );
    assert_eq!(sha256(stored.as_bytes()), digest);
    assert_tags_complete(&name);

    // The registry goes away for good after k requests: the push fails (exit 2), and whatever
    // tags exist name complete images.
    for cut in [3, 7, 12, 16, 20] {
        let name = unique("team/cut");
        let broken = proxy(move |n, _| if n >= cut { Fault::Drop } else { Fault::Pass });
        let output = run(gate()
            .env("LAMBDA_GATE_REGISTRY_ATTEMPTS", "2")
            .arg("build")
            .arg(&project)
            .args(["--build-arg", &format!("BASE_IMAGE={}", base())])
            .args([
                "--push",
                &format!("{}/{name}", broken.address),
                "--tag",
                "v1",
                "--no-smoke",
            ]));
        let requests = broken.requests.load(Ordering::SeqCst);
        if output.status.code() == Some(0) {
            assert!(
                requests <= cut,
                "succeeded only if it needed no more than {cut} requests"
            );
        } else {
            assert_eq!(output.status.code(), Some(2), "{}", text(&output));
        }
        assert_tags_complete(&name);
    }
}

#[test]
fn registry_and_ecr_credentials_never_appear_in_output() {
    let (_dir, project) = example_project();
    let leaky = proxy(|_, _| Fault::EchoAuth);
    let secret = format!("pw-{:016x}", fastrand::u64(..));
    let output = run(gate()
        .env("LAMBDA_GATE_REGISTRY_USERNAME", "ci-user")
        .env("LAMBDA_GATE_REGISTRY_PASSWORD", &secret)
        .env("LAMBDA_GATE_REGISTRY_ATTEMPTS", "1")
        .arg("build")
        .arg(&project)
        .args(["--build-arg", &format!("BASE_IMAGE={}", base())])
        .args([
            "--push",
            &format!("{}/team/leak", leaky.address),
            "--tag",
            "v1",
            "--no-smoke",
        ]));
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    let all = text(&output);
    use base64::Engine as _;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("ci-user:{secret}"));
    assert!(
        all.contains("HTTP 500"),
        "the registry's answer is reported: {all}"
    );
    assert!(
        !all.contains(&secret) && !all.contains(&basic),
        "credentials leaked: {all}"
    );

    // ECR: the authorization token GetAuthorizationToken hands out never shows.
    let token = aws("print(ecr.get_authorization_token()['authorizationData'][0]['authorizationToken'], end='')");
    let name = unique("team/ecrleak");
    aws(&format!("ecr.create_repository(repositoryName='{name}')"));
    let output = run(gate()
        .env(
            "LAMBDA_GATE_ECR_REGISTRY_URL",
            format!("http://{}", leaky.address),
        )
        .env("LAMBDA_GATE_REGISTRY_ATTEMPTS", "1")
        .arg("build")
        .arg(&project)
        .args(["--build-arg", &format!("BASE_IMAGE={}", base())])
        .args([
            "--push",
            &format!("{ECR_HOST}/{name}"),
            "--tag",
            "v1",
            "--no-smoke",
        ]));
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    let all = text(&output);
    let decoded = String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(&token)
            .unwrap(),
    )
    .unwrap();
    let password = decoded.split_once(':').unwrap().1;
    assert!(
        !all.contains(&token) && !all.contains(password),
        "ECR token leaked: {all}"
    );
}
