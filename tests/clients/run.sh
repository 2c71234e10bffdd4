#!/usr/bin/env bash
# Client suite: the real npm clients `ollama` (ollama-js) and `openai`
# against a real `golem serve` on loopback, with the fixture models.
#
#   bash tests/clients/run.sh
#
# It installs the pinned clients (npm ci, from package-lock.json), builds
# golem, makes a temporary model store (GOLEM_MODELS) holding the fixture
# models by name, starts `golem serve` on a free 127.0.0.1 port, runs
# node's test runner on tests/clients/*.test.mjs with OLLAMA_HOST pointing
# at it, and always stops the server and removes the temporary files.
#
# Fixtures: $GOLEM_FIXTURES, else ../shared/fixtures beside the repository.
# When they are missing the suite is skipped, unless CI is set (then it
# fails). Needs go, node (>= 20) and npm.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)

fixtures=${GOLEM_FIXTURES:-$repo/../shared/fixtures}
if [ ! -f "$fixtures/models/stories260K.gguf" ]; then
	if [ -n "${CI:-}" ]; then
		echo "client suite: fixtures not found at $fixtures (set GOLEM_FIXTURES)" >&2
		exit 1
	fi
	echo "client suite: SKIP: fixtures not found at $fixtures (set GOLEM_FIXTURES)"
	exit 0
fi
fixtures=$(cd "$fixtures" && pwd)

for tool in go node npm; do
	command -v "$tool" >/dev/null || { echo "client suite: $tool is required" >&2; exit 1; }
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/golem-clients.XXXXXX")
server_pid=
cleanup() {
	if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
		kill -TERM "$server_pid" 2>/dev/null || true
		for _ in $(seq 50); do
			kill -0 "$server_pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "client suite: npm ci (ollama, openai from package-lock.json)"
(cd "$here" && npm ci --no-audit --no-fund --loglevel=error)

echo "client suite: building golem"
(cd "$repo" && CGO_ENABLED=0 go build -o "$tmp/golem" ./cmd/golem)
golem=$tmp/golem

# A private store and home: nothing outside $tmp is read or written.
export GOLEM_MODELS=$tmp/models GOLEM_HOME=$tmp/home
unset GOLEM_API_KEY GOLEM_ORIGINS GOLEM_NUM_PARALLEL GOLEM_MAX_LOADED_MODELS GOLEM_KEEP_ALIVE OLLAMA_HOST
mkdir -p "$GOLEM_MODELS" "$GOLEM_HOME"

# Register the fixture models by name with `golem create` when the CLI has
# it; otherwise the suite creates them through /api/blobs + /api/create
# (helpers.mjs, ensureModels), which it tests either way.
if "$golem" create --help >/dev/null 2>&1; then
	echo "client suite: registering fixture models with golem create"
	while read -r name file; do
		printf 'FROM %s\n' "$fixtures/$file" >"$tmp/Modelfile.$name"
		"$golem" create "$name" -f "$tmp/Modelfile.$name"
	done <<-LIST
		stories260k models/stories260K.gguf
		qwen2-tiny models/tiny/qwen2-tiny.gguf
		bert-tiny models/tiny/bert-tiny.gguf
	LIST
else
	echo "client suite: golem has no create command; the suite registers the models over HTTP"
fi

# Port 0: the kernel picks a free port, which the server logs.
GOLEM_HOST=127.0.0.1:0 "$golem" serve >"$tmp/serve.log" 2>&1 &
server_pid=$!
addr=
for _ in $(seq 300); do
	addr=$(sed -n 's/.*msg=Listening addr=\(127\.0\.0\.1:[0-9][0-9]*\).*/\1/p' "$tmp/serve.log" | head -n1)
	[ -n "$addr" ] && break
	kill -0 "$server_pid" 2>/dev/null || break
	sleep 0.1
done
if [ -z "$addr" ]; then
	echo "client suite: golem serve did not start; its log:" >&2
	cat "$tmp/serve.log" >&2
	exit 1
fi
url=http://$addr
node -e 'fetch(process.argv[1] + "/api/version").then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))' "$url" || {
	echo "client suite: $url/api/version did not answer; server log:" >&2
	cat "$tmp/serve.log" >&2
	exit 1
}
echo "client suite: golem serve on $url (store $GOLEM_MODELS)"

rc=0
(cd "$here" && OLLAMA_HOST=$url GOLEM_FIXTURES=$fixtures \
	node --test --test-concurrency=1 --test-reporter=tap ./*.test.mjs) || rc=$?
if [ "$rc" -ne 0 ]; then
	echo "client suite: FAILED (node --test exit $rc); last lines of the server log:" >&2
	tail -n 60 "$tmp/serve.log" >&2
fi
exit "$rc"
