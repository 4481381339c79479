// buildLambda: the gate stage of a Lambda's Jenkins pipeline.
//
//   buildLambda(name: 'quote', path: 'services/quote')
//
// Every step is a thin call of the lambda-gate binary; the logic lives there, not here.
def call(Map config = [:]) {
    String name = config.name ?: error('buildLambda: `name` is required')
    String path = config.path ?: '.'
    String gate = config.lambdaGate ?: 'lambda-gate'
    String reports = config.reportDir ?: "lambda-gate-reports/${name}"

    stage("Gate: ${name}") {
        sh "mkdir -p '${reports}'"
        // Exit code 1 (violations) must fail the build only after the reports are recorded.
        int status = sh(returnStatus: true,
            script: "${gate} check '${path}' --format sarif --output '${reports}/gate.sarif'")
        sh "${gate} check '${path}' --format junit --output '${reports}/gate.junit.xml' || true"
        recordIssues(tools: [sarif(pattern: "${reports}/gate.sarif", id: "lambda-gate-${name}", name: "lambda-gate ${name}")])
        junit(testResults: "${reports}/gate.junit.xml", allowEmptyResults: false)
        if (status == 1) {
            error("lambda-gate: ${name} breaks policy (see the Warnings and Tests tabs)")
        } else if (status != 0) {
            error("lambda-gate: could not check ${name} (exit ${status})")
        }
    }
}
