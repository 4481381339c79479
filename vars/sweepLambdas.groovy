// sweepLambdas: an org-wide sweep split across N agents, merged into one report.
//
//   sweepLambdas(repos: 'repos.txt', agents: 4)                          // on 'linux' agents
//   sweepLambdas(repos: 'repos.txt', agents: 8, label: 'sweep', config: 'lambda-gate.toml')
//
// Each `parallel` branch runs on its own agent with LAMBDA_GATE_SHARD=K/N and calls
// `lambda-gate sweep --shard auto` (the split is stable: a repository keeps its shard when others
// are added); then one agent merges the shards' JSON reports (`sweep merge`: a repository in two
// reports is refused) into HTML, Markdown and JSON, archived, with the Markdown summary as the
// build's description. Exit 1 of a shard (violations) is the sweep's finding, not the build's
// failure; exit 2 (usage, configuration, an unreadable report) fails the build.
def call(Map config = [:]) {
    String repos = config.repos ?: error('sweepLambdas: `repos` (a file of git URLs) is required')
    int agents = (config.agents ?: 2) as int
    String label = config.label ?: 'linux'
    String gate = config.lambdaGate ?: 'lambda-gate'
    String configArg = config.config ? " --config '${config.config}'" : ''

    Map branches = (1..agents).collectEntries { int k ->
        ["shard ${k}/${agents}": {
            node(label) {
                checkout(scm)
                withEnv(["LAMBDA_GATE_SHARD=${k}/${agents}"]) {
                    sh "${gate} sweep --repos '${repos}' --shard auto${configArg} --quiet --format json -o shard-${k}.json || test \$? -eq 1"
                }
                stash(name: "shard-${k}", includes: "shard-${k}.json")
            }
        }]
    }
    stage('Sweep') {
        parallel(branches)
    }
    stage('Merge') {
        node(label) {
            (1..agents).each { int k -> unstash("shard-${k}") }
            String shards = (1..agents).collect { "shard-${it}.json" }.join(' ')
            sh "${gate} sweep merge ${shards} --html sweep.html --markdown sweep.md --json sweep.json || test \$? -eq 1"
            archiveArtifacts(artifacts: 'sweep.*')
            currentBuild.description = readFile('sweep.md')
        }
    }
}

return this
