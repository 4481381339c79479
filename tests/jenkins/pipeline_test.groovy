// Runs vars/buildLambda.groovy and the Jenkinsfile with stubbed pipeline steps (sh, stage, dir,
// parallel, recordIssues, junit, input, withCredentials, readJSON, load, checkout, node) and
// checks the stage order and the lambda-gate command lines. Run: groovy tests/jenkins/pipeline_test.groovy
// from the repository root; exits non-zero on the first failed check.
import groovy.json.JsonSlurper

class PipelineError extends RuntimeException {
    PipelineError(String message) { super(message) }
}

/** A fake Jenkins: records every step; `sh` answers from `answers` (first matching prefix). */
class FakeJenkins {
    List<String> events = []
    Map<String, Object> answers = [:]
    Map<String, String> env = [:]

    void record(Object event) { events << event.toString() }

    Binding binding() {
        Binding b = new Binding()
        b.setVariable('env', env)
        b.setVariable('scm', 'scm')
        b.setVariable('stage', { String name, Closure body -> record("stage:${name}"); body() })
        b.setVariable('node', { Object... args -> record("node:${args.length > 1 ? args[0] : ''}"); args[-1]() })
        b.setVariable('withEnv', { List vars, Closure body -> record("withEnv:${vars.join(',')}"); body() })
        b.setVariable('stash', { Map args -> record("stash:${args.name}") })
        b.setVariable('unstash', { String name -> record("unstash:${name}") })
        b.setVariable('archiveArtifacts', { Map args -> record("archive:${args.artifacts}") })
        b.setVariable('readFile', { String path -> "summary of ${path}" })
        b.setVariable('currentBuild', [description: ''])
        b.setVariable('dir', { String path, Closure body -> record("dir:${path}"); body(); record("enddir") })
        b.setVariable('checkout', { Object scm -> record('checkout') })
        b.setVariable('error', { String message -> record("error:${message}"); throw new PipelineError(message) })
        b.setVariable('recordIssues', { Map args -> record("recordIssues:${args.tools[0]}") })
        b.setVariable('sarif', { Map args -> "sarif(${args.pattern})" })
        b.setVariable('junit', { Map args -> record("junit:${args.testResults}") })
        b.setVariable('input', { Map args -> record("input:${args.message}") })
        b.setVariable('parallel', { Map branches -> branches.each { k, v -> record("branch:${k}"); v() } })
        b.setVariable('withCredentials', { List bindings, Closure body ->
            record("withCredentials:${bindings.collect { "${it.type}(${it.credentialsId}->${it.variable})" }.join(',')}")
            body()
            record('endCredentials')
        })
        b.setVariable('file', { Map args -> [type: 'file'] + args })
        b.setVariable('string', { Map args -> [type: 'string'] + args })
        b.setVariable('readJSON', { Map args -> new JsonSlurper().parseText(args.text) })
        b.setVariable('sh', { Object arg ->
            Map args = arg instanceof Map ? arg : [script: arg.toString()]
            String script = args.script.toString()
            record("sh:${script}")
            def answer = answers.find { prefix, value -> script.startsWith(prefix) }?.value
            if (script.endsWith('|| true') && answer instanceof Integer) {
                answer = 0
            }
            if (args.returnStatus) {
                return answer instanceof Integer ? answer : 0
            }
            if (args.returnStdout) {
                return answer instanceof String ? answer : ''
            }
            if (answer instanceof Integer && answer != 0) {
                throw new PipelineError("script returned exit code ${answer}")
            }
            return null
        })
        b.setVariable('load', { String path ->
            record("load:${path}")
            Script library = new GroovyShell(this.binding()).parse(new File(path))
            library.setBinding(b)
            library.run()
        })
        return b
    }

    Script load(String path) {
        Script script = new GroovyShell(binding()).parse(new File(path))
        return script
    }
}

int checks = 0
void check(boolean condition, String what, List events) {
    if (!condition) {
        System.err.println("FAILED: ${what}\nevents:\n  " + events.join('\n  '))
        System.exit(1)
    }
}

String buildJson = '{"status":"built","platforms":[{"platform":"linux/amd64","image_id":"sha256:aaa"},{"platform":"linux/arm64","image_id":"sha256:bbb"}]}'
String pushJson = '{"status":"built","index_digest":"sha256:1dx","platforms":[]}'

// 1. Every .groovy file (and the Jenkinsfile) compiles.
def sources = []
new File('vars').eachFileMatch(~/.*\.groovy/) { sources << it }
sources << new File('Jenkinsfile')
for (File source in sources) {
    new GroovyShell().parse(source)
    checks++
}

// 2. The gate only: reports recorded, no build.
FakeJenkins jenkins = new FakeJenkins()
Script library = jenkins.load('vars/buildLambda.groovy')
library.setBinding(jenkins.binding())
library.call(name: 'quote', path: 'services/quote')
List ev = jenkins.events
check(ev[0] == 'stage:Gate: quote', 'the gate is the first stage', ev)
check(ev.contains("sh:lambda-gate check 'services/quote' --format sarif --output 'lambda-gate-reports/quote/gate.sarif'"), 'SARIF from check', ev)
check(ev.any { it.startsWith('recordIssues:sarif(lambda-gate-reports/quote/gate.sarif)') }, 'SARIF recorded', ev)
check(ev.contains('junit:lambda-gate-reports/quote/gate.junit.xml'), 'JUnit recorded', ev)
check(!ev.any { it.startsWith('stage:Build') }, 'no repository: no build', ev)
checks += 5

// 3. Violations: the reports are recorded, then the build fails.
jenkins = new FakeJenkins()
jenkins.answers['lambda-gate check'] = 1
library = jenkins.load('vars/buildLambda.groovy')
library.setBinding(jenkins.binding())
boolean failed = false
try {
    library.call(name: 'quote', path: 'services/quote', repository: 'r.example.com/team/quote')
} catch (PipelineError e) {
    failed = e.message.contains('breaks policy')
}
ev = jenkins.events
check(failed, 'a gate violation fails the build', ev)
check(ev.findIndexOf { it.startsWith('recordIssues') } < ev.findIndexOf { it.startsWith('error:') }, 'reports before the failure', ev)
check(!ev.any { it.startsWith('stage:Build') }, 'nothing built after a failed gate', ev)
checks += 3

// 4. The whole way: build, smoke each platform's image, push exactly those, promote in turn.
jenkins = new FakeJenkins()
jenkins.answers["lambda-gate build"] = buildJson
jenkins.answers["lambda-gate push"] = pushJson
jenkins.answers['git rev-parse'] = 'c0ffee123456\n'
library = jenkins.load('vars/buildLambda.groovy')
library.setBinding(jenkins.binding())
Map result = library.call(name: 'quote', path: 'services/quote', repository: 'r.example.com/team/quote',
    promoteTo: ['staging', 'prod'], ssmPrefix: '/lambda/quote', buildArgs: [BASE_IMAGE: 'r.example.com/base@sha256:0b'])
ev = jenkins.events
List stages = ev.findAll { it.startsWith('stage:') }
check(stages == ['stage:Gate: quote', 'stage:Build: quote', 'stage:Smoke: quote', 'stage:Push: quote',
                 'stage:Promote: quote to staging', 'stage:Promote: quote to prod'], "stage order: ${stages}", ev)
check(ev.contains('sh:test -e /proc/sys/fs/binfmt_misc/qemu-aarch64 || update-binfmts --enable qemu-aarch64'), 'binfmt for arm64', ev)
check(ev.contains("sh:lambda-gate build 'services/quote' --platform linux/amd64,linux/arm64 --no-smoke --format json --quiet --build-arg 'BASE_IMAGE=r.example.com/base@sha256:0b'"), 'build command', ev)
check(ev.contains("sh:lambda-gate smoke 'sha256:aaa' --platform linux/amd64") && ev.contains("sh:lambda-gate smoke 'sha256:bbb' --platform linux/arm64"), 'smoke each built image', ev)
check(ev.indexOf('dir:services/quote') < ev.indexOf("sh:lambda-gate smoke 'sha256:aaa' --platform linux/amd64"), 'smoke runs in the project (its events/)', ev)
check(ev.contains("sh:lambda-gate push 'r.example.com/team/quote' --image linux/amd64=sha256:aaa --image linux/arm64=sha256:bbb --tag c0ffee123456 --tag dev --project 'services/quote' --format json --quiet"), 'push exactly the smoked images', ev)
check(ev.contains("sh:lambda-gate promote 'r.example.com/team/quote' --digest sha256:1dx --to staging --record-ssm '/lambda/quote/staging'"), 'promote by digest', ev)
int approval = ev.findIndexOf { it.startsWith('input:') }
check(approval > ev.indexOf('stage:Promote: quote to prod') && approval < ev.findIndexOf { it.contains('--to prod') }, 'an input step before prod', ev)
check(result.index_digest == 'sha256:1dx', 'returns what was pushed', ev)
checks += 9

// 4b. Build secrets: Jenkins credentials bound around the build only, passed as BuildKit
// secrets by variable (expanded by the shell, never by Groovy, so no value is in the script).
jenkins = new FakeJenkins()
jenkins.answers["lambda-gate build"] = buildJson
jenkins.answers["lambda-gate push"] = pushJson
library = jenkins.load('vars/buildLambda.groovy')
library.setBinding(jenkins.binding())
library.call(name: 'quote', path: 'services/quote', repository: 'r.example.com/team/quote',
    secrets: [[id: 'pip', file: 'pip-conf'], [id: 'artifactory.token', string: 'art-token']])
ev = jenkins.events
String bound = 'withCredentials:file(pip-conf->LAMBDA_GATE_SECRET_PIP),string(art-token->LAMBDA_GATE_SECRET_ARTIFACTORY_TOKEN)'
String buildLine = "sh:lambda-gate build 'services/quote' --platform linux/amd64,linux/arm64 --no-smoke --format json --quiet --secret id=pip,src=\"\$LAMBDA_GATE_SECRET_PIP\" --secret id=artifactory.token,env=LAMBDA_GATE_SECRET_ARTIFACTORY_TOKEN"
check(ev.contains(bound), 'the credentials are bound by id, each to its variable', ev)
check(ev.indexOf(bound) < ev.indexOf(buildLine) && ev.indexOf(buildLine) < ev.indexOf('endCredentials'), 'the build runs inside withCredentials, with --secret by variable', ev)
check(ev.indexOf('endCredentials') < ev.indexOf('stage:Smoke: quote'), 'the credentials are bound for the build only', ev)
check(!ev.any { it.contains('--build-arg') }, 'no secret goes through a build argument', ev)
// 4c. Signing: the key file credential is bound around the push only, by variable; the push
// names the project (the gate's verdict is on it).
// A build and push of services/quote under tag v1 with `signing` (signingKey or signingKmsKey).
List signedRun(Map signing, String buildJson, String pushJson) {
    FakeJenkins jenkins = new FakeJenkins()
    jenkins.answers["lambda-gate build"] = buildJson
    jenkins.answers["lambda-gate push"] = pushJson
    def library = jenkins.load('vars/buildLambda.groovy')
    library.setBinding(jenkins.binding())
    library.call([name: 'quote', path: 'services/quote', repository: 'r.example.com/team/quote', tags: ['v1']] + signing)
    return jenkins.events
}
ev = signedRun([signingKey: 'release-key'], buildJson, pushJson)
String keyBound = 'withCredentials:file(release-key->LAMBDA_GATE_SIGNING_KEY)'
int pushLine = ev.findIndexOf { it.startsWith("sh:lambda-gate push 'r.example.com/team/quote'") }
check(ev.indexOf(keyBound) < pushLine && pushLine < ev.lastIndexOf('endCredentials') && ev[pushLine].contains("--project 'services/quote'"), 'the push signs inside withCredentials, with the project', ev)
check(!ev.any { it.contains('release-key') && it.startsWith('sh:') }, 'the key is never in a command line', ev)
checks += 2
// 4d. Signing with a KMS key: named to the push by variable, around the push only.
ev = signedRun([signingKmsKey: 'alias/release'], buildJson, pushJson)
int kmsBound = ev.indexOf('withEnv:LAMBDA_GATE_SIGNING_KEY=awskms:alias/release')
pushLine = ev.findIndexOf { it.startsWith("sh:lambda-gate push 'r.example.com/team/quote'") }
check(kmsBound >= 0 && kmsBound == pushLine - 1 && !ev.any { it.startsWith('sh:') && it.contains('awskms') }, 'the push signs with the KMS key named by variable', ev)
jenkins = new FakeJenkins()
library = jenkins.load('vars/buildLambda.groovy')
library.setBinding(jenkins.binding())
failed = false
try {
    library.call(name: 'quote', repository: 'r.example.com/team/quote', signingKey: 'k', signingKmsKey: 'alias/k')
} catch (PipelineError e) {
    failed = e.message.contains('not both')
}
check(failed, 'a file key and a KMS key together are refused', [])
checks += 2

jenkins = new FakeJenkins()
library = jenkins.load('vars/buildLambda.groovy')
library.setBinding(jenkins.binding())
failed = false
try {
    library.call(name: 'quote', repository: 'r.example.com/team/quote', secrets: [[id: 'pip', file: 'a', string: 'b']])
} catch (PipelineError e) {
    failed = e.message.contains('one of `file` or `string`')
}
check(failed && !jenkins.events.any { it.startsWith('stage:') }, 'a secret with both kinds is refused before any stage', jenkins.events)
checks += 5

// 5. The Jenkinsfile: binfmt, the test bases, example-project through the local buildLambda,
// then the bases promoted to latest by the digests just built.
jenkins = new FakeJenkins()
jenkins.env.LAMBDA_GATE_REGISTRY = '127.0.0.1:5000/ci'
jenkins.answers['lambda-gate build images/aws-lambda-python-release-base'] = '{"index_digest":"sha256:rel"}'
jenkins.answers['lambda-gate build . --dockerfile images/aws-lambda-python-dev-base/Dockerfile'] = '{"index_digest":"sha256:dev"}'
jenkins.answers["lambda-gate build 'example-project'"] = buildJson
jenkins.answers['lambda-gate push'] = pushJson
Script jenkinsfile = jenkins.load('Jenkinsfile')
jenkinsfile.setBinding(jenkins.binding())
jenkinsfile.run()
ev = jenkins.events
stages = ev.findAll { it.startsWith('stage:') }
check(stages == ['stage:Checkout', 'stage:binfmt', 'stage:Release base: test', 'stage:Dev base: test',
                 'stage:Gate: example-project', 'stage:Build: example-project', 'stage:Smoke: example-project',
                 'stage:Push: example-project', 'stage:Promote bases to latest'], "Jenkinsfile stage order: ${stages}", ev)
check(ev.contains('load:vars/buildLambda.groovy'), 'the local buildLambda', ev)
check(ev.contains("sh:lambda-gate build . --dockerfile images/aws-lambda-python-dev-base/Dockerfile --build-arg 'RELEASE_BASE=127.0.0.1:5000/ci/aws-lambda-python-release-base@sha256:rel' --no-smoke --push '127.0.0.1:5000/ci/aws-lambda-python-dev-base' --tag test --format json --quiet"), 'dev base on the test release base', ev)
check(ev.any { it.startsWith("sh:lambda-gate build 'example-project'") && it.contains("BASE_IMAGE=127.0.0.1:5000/ci/aws-lambda-python-release-base@sha256:rel") }, 'example on the test release base', ev)
check(ev.contains("sh:lambda-gate push '127.0.0.1:5000/ci/example-project' --image linux/amd64=sha256:aaa --image linux/arm64=sha256:bbb --tag test --project 'example-project' --format json --quiet"), 'example pushed as test', ev)
check(ev[-2] == "sh:lambda-gate promote '127.0.0.1:5000/ci/aws-lambda-python-release-base' --digest sha256:rel --to latest", 'release base promoted last but one', ev)
check(ev[-1] == "sh:lambda-gate promote '127.0.0.1:5000/ci/aws-lambda-python-dev-base' --digest sha256:dev --to latest", 'dev base promoted last', ev)
checks += 7

// 5b. With a policy file, the promoted digests are recorded there after the promotion, with the
// grace days, and the change is pushed as a branch only when the file changed.
jenkins = new FakeJenkins()
jenkins.env.LAMBDA_GATE_REGISTRY = '127.0.0.1:5000/ci'
jenkins.env.LAMBDA_GATE_POLICY_FILE = 'rules/policy.toml'
jenkins.answers['lambda-gate build images/aws-lambda-python-release-base'] = '{"index_digest":"sha256:rel"}'
jenkins.answers['lambda-gate build . --dockerfile images/aws-lambda-python-dev-base/Dockerfile'] = '{"index_digest":"sha256:dev"}'
jenkins.answers["lambda-gate build 'example-project'"] = buildJson
jenkins.answers['lambda-gate push'] = pushJson
jenkinsfile = jenkins.load('Jenkinsfile')
jenkinsfile.setBinding(jenkins.binding())
jenkinsfile.run()
ev = jenkins.events
check(ev.findAll { it.startsWith('stage:') }[-2..-1] == ['stage:Promote bases to latest', 'stage:Record base digests'], 'digests recorded after the promotion', ev)
check(ev[-2] == "sh:lambda-gate policy record-digest 'rules/policy.toml' --image '127.0.0.1:5000/ci/aws-lambda-python-release-base@sha256:rel' --image '127.0.0.1:5000/ci/aws-lambda-python-dev-base@sha256:dev' --grace-days 14", 'record-digest with both bases', ev)
check(ev[-1].startsWith("sh:git diff --quiet -- 'rules/policy.toml' || (") && ev[-1].contains('git push --force-with-lease origin lambda-gate/base-digests'), 'pushed only when changed', ev)
checks += 3

// 6. A failing example stops the Jenkinsfile before any promotion.
jenkins = new FakeJenkins()
jenkins.answers['lambda-gate build images/aws-lambda-python-release-base'] = '{"index_digest":"sha256:rel"}'
jenkins.answers['lambda-gate build . --dockerfile'] = '{"index_digest":"sha256:dev"}'
jenkins.answers["lambda-gate build 'example-project'"] = buildJson
jenkins.answers['lambda-gate smoke'] = 1
jenkinsfile = jenkins.load('Jenkinsfile')
jenkinsfile.setBinding(jenkins.binding())
failed = false
try {
    jenkinsfile.run()
} catch (PipelineError e) {
    failed = true
}
ev = jenkins.events
check(failed && !ev.any { it.contains(' promote ') }, 'a failed smoke test promotes nothing', ev)
checks += 1

// 7. Deploy stages: each environment in turn by the index digest, an input before prod; a
// deploy that is refused or rolls back (exit 1) stops the pipeline before the next environment.
jenkins = new FakeJenkins()
jenkins.answers["lambda-gate build"] = buildJson
jenkins.answers["lambda-gate push"] = pushJson
library = jenkins.load('vars/buildLambda.groovy')
library.setBinding(jenkins.binding())
library.call(name: 'quote', path: 'services/quote', repository: 'r.example.com/team/quote', tags: ['v1'],
    deployTo: ['dev', 'staging', 'prod'])
ev = jenkins.events
stages = ev.findAll { it.startsWith('stage:') }
check(stages.takeRight(3) == ['stage:Deploy: quote to dev', 'stage:Deploy: quote to staging', 'stage:Deploy: quote to prod'], "deploy stages: ${stages}", ev)
check(ev.contains("sh:lambda-gate deploy --environment dev --image 'r.example.com/team/quote@sha256:1dx' --project 'services/quote' --format json"), 'deploy by the index digest', ev)
approval = ev.findIndexOf { it.startsWith('input:Deploy') }
check(approval > ev.indexOf('stage:Deploy: quote to prod') && approval < ev.findIndexOf { it.contains('--environment prod') }, 'an input before deploying to prod', ev)
checks += 3

jenkins = new FakeJenkins()
jenkins.answers["lambda-gate build"] = buildJson
jenkins.answers["lambda-gate push"] = pushJson
jenkins.answers["lambda-gate deploy --environment staging"] = 1
library = jenkins.load('vars/buildLambda.groovy')
library.setBinding(jenkins.binding())
failed = false
try {
    library.call(name: 'quote', path: 'services/quote', repository: 'r.example.com/team/quote', tags: ['v1'],
        deployTo: ['dev', 'staging', 'prod'])
} catch (PipelineError e) {
    failed = true
}
ev = jenkins.events
check(failed, 'a failed smoke test in staging fails the pipeline', ev)
check(!ev.any { it.contains('--environment prod') } && !ev.contains('stage:Deploy: quote to prod'), 'nothing reaches prod after staging failed', ev)
checks += 2

// 8. sweepLambdas: one shard per parallel branch (LAMBDA_GATE_SHARD for --shard auto), then one
// merge of exactly those reports.
jenkins = new FakeJenkins()
library = jenkins.load('vars/sweepLambdas.groovy')
Binding sweepBinding = jenkins.binding()
library.setBinding(sweepBinding)
library.call(repos: 'repos.txt', agents: 3, label: 'sweep')
ev = jenkins.events
check(ev.findAll { it.startsWith('branch:') } == ['branch:shard 1/3', 'branch:shard 2/3', 'branch:shard 3/3'], 'one branch per agent', ev)
for (int k in 1..3) {
    int env = ev.indexOf("withEnv:LAMBDA_GATE_SHARD=${k}/3".toString())
    check(env >= 0 && ev[env + 1] == "sh:lambda-gate sweep --repos 'repos.txt' --shard auto --quiet --format json -o shard-${k}.json || test \$? -eq 1".toString(), "shard ${k} sweeps with its own K/N", ev)
}
check(ev.count { it == 'node:sweep' } == 4, 'three shard agents and one merge agent of the label', ev)
int merge = ev.findIndexOf { it.startsWith('sh:lambda-gate sweep merge') }
check(merge > ev.indexOf('unstash:shard-3') && ev[merge] == 'sh:lambda-gate sweep merge shard-1.json shard-2.json shard-3.json --html sweep.html --markdown sweep.md --json sweep.json || test $? -eq 1', 'merge exactly the shards', ev)
check(sweepBinding.getVariable('currentBuild').description == 'summary of sweep.md', 'the summary as the description', ev)
checks += 6

println "jenkins: ${checks} checks passed"
