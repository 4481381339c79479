//! The Jenkins shared library and the Jenkinsfile, run with Debian's groovy against stubbed
//! pipeline steps (tests/jenkins/pipeline_test.groovy): every .groovy file compiles, the stages
//! come in order, and each stage is the lambda-gate command line it should be.

use std::process::Command;

#[test]
fn shared_library_and_jenkinsfile_run_their_stages_in_order_with_the_right_commands() {
    let output = Command::new("groovy")
        .arg("tests/jenkins/pipeline_test.groovy")
        .output()
        .expect("groovy (tests/run.sh installs Debian's groovy and default-jre-headless)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("checks passed"), "{stdout}");
}
