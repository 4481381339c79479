// buildLambda: a Lambda's Jenkins pipeline, from the gate to production.
//
//   buildLambda(name: 'quote', path: 'services/quote')                   // the gate only
//   buildLambda(name: 'quote', path: 'services/quote',
//               repository: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/quote',
//               promoteTo: ['staging', 'prod'], ssmPrefix: '/lambda/quote')
//   buildLambda(name: 'quote', path: 'services/quote', repository: '…/team/quote',
//               deployTo: ['dev', 'staging', 'prod'])   // [deploy.environments.*] of the policy
//   buildLambda(name: 'quote', path: 'services/quote', repository: '…/team/quote',
//               secrets: [[id: 'pip', file: 'pip-conf'], [id: 'token', string: 'artifactory-token']])
//   buildLambda(name: 'quote', path: 'services/quote', repository: '…/team/quote',
//               signingKey: 'lambda-release-key', deployTo: ['dev', 'staging', 'prod'])
//
// `signingKey` is a Jenkins secret file credential holding the PEM private key (ECDSA P-256 or
// Ed25519) the Push stage signs attestations with: provenance, the gate's verdict on `path` and an
// SBOM, attached to every pushed image. An environment with `require-attestation` (prod, the
// ladder's last rung, by default) deploys only images carrying that verdict. Or `signingKmsKey`
// (`alias/release`, a key id or ARN): an AWS KMS key (ECC_NIST_P256, SIGN_VERIFY) the agent's
// AWS identity may kms:Sign with; no key material is on the agent at all.
//
// `secrets` are Jenkins credentials handed to the build as BuildKit secrets, for
// `RUN --mount=type=secret,id=pip ...`: a secret file credential (`file:`) or secret text
// (`string:`), by credentials id. They are bound with `withCredentials` and passed as
// `--secret id=...,src=$VAR` / `env=VAR`, so their values never appear in the command line, the
// log or the image (a build argument would be echoed and stored in the image's history).
//
// Stages: Gate (SARIF -> Warnings, JUnit -> Tests), Build (every platform, binfmt set up for
// arm64), Smoke (each platform's image, the project's events/*.json), Push (exactly the images
// that passed, and an index; signed attestations with `signingKey`), Promote (each environment in turn by digest; an `input` before
// prod), Deploy (each environment of `deployTo` in turn, by the index digest: the function's
// architecture picks the image, the published version is smoke-tested where it runs, the alias
// moves at once or as the environment's canary, and a failure rolls back and stops here; an
// `input` before prod). Every step is a thin call of the lambda-gate binary: the logic (and each
// environment's function, alias, role, canary and alarms, from `[deploy.environments.<name>]`)
// lives there, not here.
def call(Map config = [:]) {
    String name = config.name ?: error('buildLambda: `name` is required')
    String path = config.path ?: '.'
    String gate = config.lambdaGate ?: 'lambda-gate'
    String reports = config.reportDir ?: "lambda-gate-reports/${name}"
    List<String> platforms = config.platforms ?: ['linux/amd64', 'linux/arm64']
    String repository = config.repository
    Map<String, String> buildArgs = config.buildArgs ?: [:]
    List<String> promoteTo = config.promoteTo ?: []
    List<String> deployTo = config.deployTo ?: []
    List<Map> secrets = config.secrets ?: []
    String signingKey = config.signingKey
    String signingKmsKey = config.signingKmsKey
    if (signingKey && signingKmsKey) {
        error("buildLambda: name one of `signingKey` (a secret file credential) or `signingKmsKey` (an AWS KMS key), not both")
    }
    for (Map secret in secrets) {
        if (!(secret.id ==~ /[A-Za-z0-9_.-]+/) || (secret.file ? 1 : 0) + (secret.string ? 1 : 0) != 1) {
            error("buildLambda: each of `secrets` needs an `id` (letters, digits, `_.-`) and one of `file` or `string` (a credentials id): ${secret.keySet()}")
        }
    }

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
    if (!repository) {
        return [:]
    }

    Map built
    stage("Build: ${name}") {
        if (platforms.any { it.endsWith('/arm64') }) {
            // arm64 builds run through qemu: register it with binfmt_misc when it is not.
            sh 'test -e /proc/sys/fs/binfmt_misc/qemu-aarch64 || update-binfmts --enable qemu-aarch64'
        }
        String args = buildArgs.collect { k, v -> " --build-arg '${k}=${v}'" }.join('')
        // Each secret in a variable of its own; the shell (not Groovy) expands it, so the value
        // is never part of the script Jenkins logs.
        List bindings = []
        for (Map secret in secrets) {
            String variable = 'LAMBDA_GATE_SECRET_' + secret.id.toUpperCase().replaceAll(/[^A-Z0-9]/, '_')
            if (secret.file) {
                bindings << file(credentialsId: secret.file, variable: variable)
                args += " --secret id=${secret.id},src=\"\$${variable}\""
            } else {
                bindings << string(credentialsId: secret.string, variable: variable)
                args += " --secret id=${secret.id},env=${variable}"
            }
        }
        String script = "${gate} build '${path}' --platform ${platforms.join(',')} --no-smoke --format json --quiet${args}"
        if (bindings) {
            withCredentials(bindings) {
                built = readJSON(text: sh(returnStdout: true, script: script))
            }
        } else {
            built = readJSON(text: sh(returnStdout: true, script: script))
        }
    }

    stage("Smoke: ${name}") {
        dir(path) {
            for (Map image in built.platforms) {
                sh "${gate} smoke '${image.image_id}' --platform ${image.platform}"
            }
        }
    }

    Map pushed
    stage("Push: ${name}") {
        List<String> tags = config.tags ?: [sh(returnStdout: true, script: 'git rev-parse --short=12 HEAD').trim(), 'dev']
        String images = built.platforms.collect { " --image ${it.platform}=${it.image_id}" }.join('')
        String tagArgs = tags.collect { " --tag ${it}" }.join('')
        String script = "${gate} push '${repository}'${images}${tagArgs} --project '${path}' --format json --quiet"
        if (signingKey) {
            // The key file is bound for the push only, by variable: lambda-gate reads
            // LAMBDA_GATE_SIGNING_KEY itself, so the path is never in the command line either.
            withCredentials([file(credentialsId: signingKey, variable: 'LAMBDA_GATE_SIGNING_KEY')]) {
                pushed = readJSON(text: sh(returnStdout: true, script: script))
            }
        } else if (signingKmsKey) {
            withEnv(["LAMBDA_GATE_SIGNING_KEY=awskms:${signingKmsKey}"]) {
                pushed = readJSON(text: sh(returnStdout: true, script: script))
            }
        } else {
            pushed = readJSON(text: sh(returnStdout: true, script: script))
        }
    }

    for (String environment in promoteTo) {
        stage("Promote: ${name} to ${environment}") {
            if (environment == 'prod') {
                input(message: "Promote ${name} ${pushed.index_digest} to prod?", ok: 'Promote')
            }
            String ssm = config.ssmPrefix ? " --record-ssm '${config.ssmPrefix}/${environment}'" : ''
            sh "${gate} promote '${repository}' --digest ${pushed.index_digest} --to ${environment}${ssm}"
        }
    }
    for (String environment in deployTo) {
        stage("Deploy: ${name} to ${environment}") {
            if (environment == 'prod') {
                input(message: "Deploy ${name} ${pushed.index_digest} to prod?", ok: 'Deploy')
            }
            // Exit 1 (refused, or rolled back after a failed smoke test or alarm) fails the stage
            // with traffic where it was; the later environments never start.
            sh "${gate} deploy --environment ${environment} --image '${repository}@${pushed.index_digest}' --project '${path}' --format json"
        }
    }
    return pushed
}

return this
