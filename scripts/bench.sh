#!/usr/bin/env bash
# bench.sh — `make bench`: throughput and latency of the control plane in
# embedded and production mode, beside the baselines that bound them:
#   (a) a bare Gin handler answering /auth/me's JSON      (cmd/baseline -mode json)
#   (b) the same handler doing one Redis INCR per request (cmd/baseline -mode redis)
#   (c) pgbench running the budget's conditional UPDATE and its commit UPDATE
#       on one row and on 100 rows, at the load tool's concurrency.
# Also: peak RSS of the server under 256 connections, CPU profiles (pprof) of
# the me and budget-cycle paths, and me's p99 at half its maximum rate.
# Results and how to read them: docs/PERFORMANCE.md.
#
# Everything talks to 127.0.0.1 only. Production mode uses this machine's
# PostgreSQL (a fresh database bench_<pid>, dropped at the end), Redis (database
# BENCH_REDIS_DB, flushed before and after) and NATS (a stream of its own,
# deleted at the end). Every process the script starts is stopped by PID on exit.
#
# Knobs (environment): BENCH_SECS (seconds per scenario, default 10),
# BENCH_C (concurrency, default 32), BENCH_REDIS_DB (default 9),
# BENCH_REPEAT (runs of each compared pair, default 2),
# BENCH_OUT (results directory, default /tmp/cp-bench-<pid>),
# BENCH_LOG_LEVEL (server LOG_LEVEL, default info: access logs included),
# BENCH_ONLY (a comma-separated subset of the sections me, prod, embedded,
# growth, replicas; default me, prod, embedded: me = me with rate limits on
# beside (a) and (b), prod = production mode with limits off and pgbench (c),
# embedded = embedded mode; growth = a ledger of BENCH_GROW_RESERVATIONS
# reservations over BENCH_GROW_BUDGETS budgets (default 1 000 000 and 10 000)
# against an empty one, list pages, EXPLAIN of every budget and audit query,
# the sweeper on a tenth of them; replicas = budget-cycle through 1, 2 and 3
# servers on one PostgreSQL; see scripts/bench-growth.sh).
set -euo pipefail

SECS=${BENCH_SECS:-10}
C=${BENCH_C:-32}
REDIS_DB=${BENCH_REDIS_DB:-9}
LOG_LEVEL=${BENCH_LOG_LEVEL:-info}
OUT=${BENCH_OUT:-/tmp/cp-bench-$$}
REPEAT=${BENCH_REPEAT:-2}
ONLY=${BENCH_ONLY:-me,prod,embedded}
PGHOST=127.0.0.1
PGUSER=postgres
DB=bench_$$
NATS_HOST=127.0.0.1
NATS_PORT=4222
STREAM=BENCH_$$
DLQ_PREFIX=benchdlq$$
N=10000000 # request bound far above what a run reaches: the duration stops it

# section NAME: whether BENCH_ONLY asks for that section.
section() { [[ ,$ONLY, == *,$1,* ]]; }

log() { printf '%s bench: %s\n' "$(date +%T)" "$*" >&2; }
die() { log "FAIL: $*"; exit 1; }

for tool in go jq curl psql pgbench redis-cli; do
	command -v "$tool" >/dev/null || die "$tool is required"
done

ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d /tmp/cp-bench-work.XXXXXX)
BIN=$WORK/bin
mkdir -p "$OUT" "$BIN"
RESULTS=$OUT/results.jsonl
: >"$RESULTS"

PIDS=()
DB_CREATED=
EXTRA_DBS=() # databases of the growth and replicas sections, dropped on exit
STREAM_USED=

# forget PID: no longer ours to stop.
forget() {
	local keep=() p
	for p in "${PIDS[@]+"${PIDS[@]}"}"; do [[ $p == "$1" ]] || keep+=("$p"); done
	PIDS=("${keep[@]+"${keep[@]}"}")
}

# stop PID: SIGTERM, SIGKILL after 15 s; only processes this script started.
stop() {
	local pid=$1 dog
	if kill -TERM "$pid" 2>/dev/null; then
		(sleep 15 && kill -KILL "$pid" 2>/dev/null) &
		dog=$!
		wait "$pid" 2>/dev/null || true
		kill "$dog" 2>/dev/null || true
		wait "$dog" 2>/dev/null || true
	fi
	forget "$pid"
}

# nats_request SUBJECT [PAYLOAD]: one request/reply on the NATS text protocol
# (no nats CLI needed); prints the reply payload line.
nats_request() {
	local subject=$1 payload=${2:-} line
	exec 7<>"/dev/tcp/$NATS_HOST/$NATS_PORT" || return 1
	printf 'CONNECT {"verbose":false,"pedantic":false}\r\nSUB _INBOX.bench%s 1\r\nPUB %s _INBOX.bench%s %d\r\n%s\r\n' \
		"$$" "$subject" "$$" "${#payload}" "$payload" >&7
	while IFS= read -r -t 5 line <&7; do
		if [[ $line == MSG* ]]; then
			IFS= read -r -t 5 line <&7
			printf '%s\n' "${line%$'\r'}"
			break
		fi
	done
	exec 7>&-
}

# nats_publish SUBJECT COUNT: COUNT small DLQ-like messages, one connection.
nats_publish() {
	local subject=$1 count=$2 i body
	exec 7<>"/dev/tcp/$3/$4" || return 1
	{
		printf 'CONNECT {"verbose":false,"pedantic":false,"headers":true}\r\n'
		for i in $(seq "$count"); do
			body="{\"order_id\":$i,\"reason\":\"bench\"}"
			hdr=$'NATS/1.0\r\nerror: handler timeout\r\nattempts: 3\r\n\r\n'
			printf 'HPUB %s %d %d\r\n%s%s\r\n' "$subject" "${#hdr}" "$((${#hdr} + ${#body}))" "$hdr" "$body"
		done
		printf 'PING\r\n'
	} >&7
	local line
	while IFS= read -r -t 10 line <&7; do [[ $line == PONG* ]] && break; done
	exec 7>&-
}

cleanup() {
	local rc=$?
	set +e
	local p
	for p in "${PIDS[@]+"${PIDS[@]}"}"; do stop "$p"; done
	if [[ -n $STREAM_USED ]]; then
		nats_request "\$JS.API.STREAM.DELETE.$STREAM" >/dev/null 2>&1 || log "could not delete NATS stream $STREAM"
	fi
	if [[ -n $DB_CREATED ]]; then
		psql -qX -h $PGHOST -U $PGUSER -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 ||
			log "could not drop database $DB"
	fi
	for p in "${EXTRA_DBS[@]+"${EXTRA_DBS[@]}"}"; do
		psql -qX -h $PGHOST -U $PGUSER -d postgres -c "DROP DATABASE IF EXISTS $p WITH (FORCE)" >/dev/null 2>&1 ||
			log "could not drop database $p"
	done
	redis-cli -h 127.0.0.1 -n "$REDIS_DB" FLUSHDB >/dev/null 2>&1
	rm -rf "$WORK"
	log "results in $OUT"
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# free_port: a loopback port nothing listens on, below the ephemeral range
# (32768+) so no outgoing connection holds it.
free_port() {
	local p
	for p in $(shuf -i 20000-32000 -n 50); do
		if ! (exec 6<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return
		fi
	done
	die "no free port"
}

# wait_ready URL: poll until 200, at most 60 s.
wait_ready() {
	local i
	for i in $(seq 600); do
		curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# start_server NAME VAR=VALUE...: the control plane with only these variables;
# sets PORT_<NAME>, PID_<NAME>.
start_server() {
	local name=$1 port
	shift
	port=$(free_port)
	env -i PATH="$PATH" HOME="$HOME" HOST=127.0.0.1 PORT="$port" LOG_LEVEL="$LOG_LEVEL" "$@" \
		"$BIN/control-plane" >"$OUT/server-$name.log" 2>&1 &
	local pid=$!
	PIDS+=("$pid")
	wait_ready "http://127.0.0.1:$port/health/ready" || {
		tail -20 "$OUT/server-$name.log" >&2
		die "server $name did not become ready"
	}
	printf -v "PORT_$name" %s "$port"
	printf -v "PID_$name" %s "$pid"
	log "server $name ready on 127.0.0.1:$port (pid $pid)"
}

# load LABEL SERVER_PORT ARGS...: one load tool run, its JSON lines appended to
# the results with the label.
load() {
	local label=$1 port=$2
	shift 2
	"$BIN/loadtest" -base-url "http://127.0.0.1:$port" -label "$label" -n $N -d "${SECS}s" -c "$C" "$@" |
		tee -a "$RESULTS" >&2
}

# pprof_during NAME PPROF_ADDR SERVER_PORT LOAD_ARGS...: a CPU profile of the
# server while the load tool runs one scenario; prints `pprof -top`.
pprof_during() {
	local name=$1 paddr=$2 port=$3
	shift 3
	curl -fsS -o "$OUT/cpu-$name.pprof" "http://$paddr/debug/pprof/profile?seconds=$SECS" &
	local cpid=$!
	PIDS+=("$cpid")
	sleep 0.2
	load "pprof-$name" "$port" "$@"
	wait "$cpid" || die "pprof download failed"
	forget "$cpid"
	go tool pprof -top -nodecount=30 "$BIN/control-plane" "$OUT/cpu-$name.pprof" >"$OUT/cpu-$name.top.txt" 2>/dev/null
	go tool pprof -top -cum -nodecount=80 "$BIN/control-plane" "$OUT/cpu-$name.pprof" >"$OUT/cpu-$name.cum.txt" 2>/dev/null
	log "pprof of $name: $OUT/cpu-$name.top.txt (flat), $OUT/cpu-$name.cum.txt (cumulative)"
}

vm() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }

# ---- machine -------------------------------------------------------------
{
	echo "date: $(date -Is)"
	echo "nproc: $(nproc)"
	echo "cpu: $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
	echo "memory: $(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
	echo "kernel: $(uname -r)"
	echo "go: $(go version)"
	echo "postgres: $(psql -XtA -h $PGHOST -U $PGUSER -d postgres -c 'show server_version')"
	echo "redis: $(redis-cli -h 127.0.0.1 info server | awk -F: '/^redis_version/ { print $2 }' | tr -d '\r')"
	echo "load at start: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "secs per scenario: $SECS, concurrency: $C, repeats of the compared pairs: $REPEAT, server LOG_LEVEL: $LOG_LEVEL"
} | tee "$OUT/machine.txt" >&2

# ---- build ---------------------------------------------------------------
log "building"
(cd "$ROOT" && go build -tags nomsgpack -o "$BIN/control-plane" . && go build -o "$BIN/loadtest" ./cmd/loadtest &&
	go build -o "$BIN/baseline" ./cmd/baseline)

# ---- stores for production mode -------------------------------------------
psql -qX -h $PGHOST -U $PGUSER -d postgres -c "CREATE DATABASE $DB" >/dev/null
DB_CREATED=1
redis-cli -h 127.0.0.1 -n "$REDIS_DB" FLUSHDB >/dev/null
STREAM_USED=1
JWT=$(head -c 48 /dev/urandom | base64 | tr -d '\n')
mkdir -p "$WORK/prod"
# LOGIN_MAX_ATTEMPTS: the lockout counter counts attempts in flight, not only
# failures, so 32 concurrent correct logins of one user from one IP would be
# refused after the fifth; raised so the login scenario measures logins.
PROD=(DATABASE_URL="postgres://$PGUSER@$PGHOST:5432/$DB?sslmode=disable"
	REDIS_URL="redis://127.0.0.1:6379/$REDIS_DB" REDIS_KEY_PREFIX="bench$$:"
	NATS_URL="nats://$NATS_HOST:$NATS_PORT" DLQ_STREAM="$STREAM" DLQ_SUBJECT_PREFIX="$DLQ_PREFIX" DLQ_CONSUMER="bench$$"
	JWT_SECRET="$JWT" SEED_DEMO_USERS=true BCRYPT_COST=4 LOGIN_MAX_ATTEMPTS=1000 DATA_DIR="$WORK/prod")

# ---- baselines (a) and (b) beside me with rate limits ON -------------------
# The baselines stay up (idle) while the server runs, and each pair is run
# back to back, REPEAT times, so a ratio compares runs seconds apart.
for mode in json redis; do
	port=$(free_port)
	"$BIN/baseline" -mode "$mode" -addr "127.0.0.1:$port" -redis-url "redis://127.0.0.1:6379/$REDIS_DB" \
		-key "bench$$:incr" 2>"$OUT/baseline-$mode.log" &
	PIDS+=("$!")
	printf -v "PID_base_$mode" %s "$!"
	printf -v "PORT_base_$mode" %s "$port"
	wait_ready "http://127.0.0.1:$port/api/v1/auth/me" || die "baseline $mode did not start"
done
# Rate limits ON (Redis), raised far above the load so none is refused:
# every request still pays the limiter's Redis round trip.
if section me; then
PPROF_B=127.0.0.1:$(free_port)
start_server limits "${PROD[@]}" RATE_LIMITS_ENABLED=true RATE_LIMIT_ADMIN=100000000-M \
	RATE_LIMIT_LOGIN=100000000-M RATE_LIMIT_BUDGET_REQUEST=100000000-M PPROF_ADDR="$PPROF_B" INSTANCE_ID=bench-limits
for r in $(seq "$REPEAT"); do
	load baseline-json "$PORT_base_json" -scenario me
	load baseline-redis "$PORT_base_redis" -scenario me
	load prod-limits "$PORT_limits" -scenario me
done
max_rps=$(jq -s -r '[.[] | select(.label == "prod-limits" and .scenario == "me") | .rps] | max' "$RESULTS")
half=$(awk -v r="$max_rps" 'BEGIN { printf "%d", r / 2 }')
load prod-limits-half "$PORT_limits" -scenario me -rps "$half"
pprof_during me "$PPROF_B" "$PORT_limits" -scenario me
stop "$PID_limits"
fi
stop "$PID_base_redis"

# ---- production mode, limits off --------------------------------------------
RSS=$OUT/rss.txt
if section prod; then
PPROF_A=127.0.0.1:$(free_port)
start_server prod "${PROD[@]}" RATE_LIMITS_ENABLED=false PPROF_ADDR="$PPROF_A" INSTANCE_ID=bench-prod
nats_publish "$DLQ_PREFIX.orders.created" 200 "$NATS_HOST" "$NATS_PORT"
sleep 1 # let the ingest worker store them
load baseline-json "$PORT_base_json" -scenario me
load prod "$PORT_prod" -scenario health,me,login,dlq-list
load prod "$PORT_prod" -scenario overspend -n 400 -limit 100000 -tokens 1000

# Baseline (c): pgbench on a copy of budget_limits in the same database, run
# the service's two statements (services/budget reserveSQL and settleSQL),
# each in its own transaction as in one request + commit cycle.
psql -qX -h $PGHOST -U $PGUSER -d "$DB" -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
CREATE TABLE pgbench_budget_limits (LIKE budget_limits INCLUDING ALL);
INSERT INTO pgbench_budget_limits (tenant_id, project_id, total_limit)
SELECT 'pgbench', g::text, 1000000000000000 FROM generate_series(0, 99) g;
SQL
cat >"$WORK/one.sql" <<'SQL'
\set t 1000
UPDATE pgbench_budget_limits SET reserved = reserved + :t, updated_at = now() WHERE tenant_id = 'pgbench' AND project_id = '0' AND total_limit - used - reserved >= :t;
UPDATE pgbench_budget_limits SET reserved = reserved - :t, used = used + :t, updated_at = now() WHERE tenant_id = 'pgbench' AND project_id = '0';
SQL
cat >"$WORK/hundred.sql" <<'SQL'
\set t 1000
\set p random(0, 99)
UPDATE pgbench_budget_limits SET reserved = reserved + :t, updated_at = now() WHERE tenant_id = 'pgbench' AND project_id = :p::text AND total_limit - used - reserved >= :t;
UPDATE pgbench_budget_limits SET reserved = reserved - :t, used = used + :t, updated_at = now() WHERE tenant_id = 'pgbench' AND project_id = :p::text;
SQL
cp "$WORK/one.sql" "$WORK/hundred.sql" "$OUT/"

# pgbench_run one|hundred: appends a result line like the load tool's.
pgbench_run() {
	local v=$1 dir=$WORK/pgb-$1-$RANDOM tps n p50 p99
	mkdir -p "$dir"
	(cd "$dir" && pgbench -n -h $PGHOST -U $PGUSER -c "$C" -j 2 -T "$SECS" -l -f "$WORK/$v.sql" "$DB") \
		>"$OUT/pgbench-$v.txt" 2>&1 || { cat "$OUT/pgbench-$v.txt" >&2; die "pgbench $v failed"; }
	tps=$(awk '/^tps = / { print $3; exit }' "$OUT/pgbench-$v.txt")
	cat "$dir"/pgbench_log.* | awk '{ print $3 }' | sort -n >"$dir/lat" # column 3: latency in µs
	n=$(wc -l <"$dir/lat")
	p50=$(awk -v n="$n" 'NR == int(n * 0.50 + 0.999999) { printf "%.3f", $1 / 1000 }' "$dir/lat")
	p99=$(awk -v n="$n" 'NR == int(n * 0.99 + 0.999999) { printf "%.3f", $1 / 1000 }' "$dir/lat")
	jq -cn --arg v "$v" --argjson tps "$tps" --argjson p50 "$p50" --argjson p99 "$p99" --argjson c "$C" --argjson n "$n" \
		--argjson d "$SECS" \
		'{scenario: ("pgbench-" + $v), label: "baseline-pgbench", duration_s: $d, concurrency: $c, requests: $n,
		  rps: ($tps * 10 | round / 10), latency_ms: {p50: $p50, p99: $p99}, status: {}, errors: 0}' |
		tee -a "$RESULTS" >&2
}
for r in $(seq "$REPEAT"); do
	pgbench_run one
	load prod-hot "$PORT_prod" -scenario budget-cycle -hot
	pgbench_run hundred
	load prod "$PORT_prod" -scenario budget-cycle
done
pprof_during budget-cycle "$PPROF_A" "$PORT_prod" -scenario budget-cycle
pprof_during budget-cycle-hot "$PPROF_A" "$PORT_prod" -scenario budget-cycle -hot

# Peak RSS under 256 connections: reset the high-water mark (clear_refs 5),
# then 256 workers on me and on budget-cycle, VmHWM after each.
echo "VmHWM before the 256-connection runs (whole run so far): $(vm "$PID_prod" VmHWM) kB" | tee "$RSS" >&2
if echo 5 >"/proc/$PID_prod/clear_refs"; then
	echo "high-water mark reset" | tee -a "$RSS" >&2
else
	echo "cannot reset VmHWM; the figures below include the earlier runs" | tee -a "$RSS" >&2
fi
for sc in me budget-cycle; do
	C=256 load rss256 "$PORT_prod" -scenario "$sc"
	echo "VmHWM after $sc -c 256: $(vm "$PID_prod" VmHWM) kB; VmRSS $(vm "$PID_prod" VmRSS) kB; threads $(vm "$PID_prod" Threads)" |
		tee -a "$RSS" >&2
done
stop "$PID_prod"
fi

# ---- growth and replicas (issue 21): scripts/bench-growth.sh ----------------
if section growth || section replicas; then
	# shellcheck source=scripts/bench-growth.sh
	source "$ROOT/scripts/bench-growth.sh"
fi

# ---- embedded mode (SQLite, in-process stores, embedded NATS) ----------------
if section embedded; then
mkdir -p "$WORK/embedded"
EMB_NATS=$(free_port) # a port only so the script can seed DLQ messages
start_server embedded DATA_DIR="$WORK/embedded" RATE_LIMITS_ENABLED=false BCRYPT_COST=4 LOGIN_MAX_ATTEMPTS=1000 \
	EMBEDDED_NATS_PORT="$EMB_NATS" INSTANCE_ID=bench-embedded
nats_publish dlq.orders.created 200 127.0.0.1 "$EMB_NATS"
sleep 1
load baseline-json "$PORT_base_json" -scenario me
load embedded "$PORT_embedded" -scenario health,me,login,budget-cycle,dlq-list
load embedded-hot "$PORT_embedded" -scenario budget-cycle -hot
load embedded "$PORT_embedded" -scenario overspend -n 400 -limit 100000 -tokens 1000
stop "$PID_embedded"

# Login at the default bcrypt cost 12 (embedded, fresh users): bcrypt-bound,
# about (cores / one hash's time) per second whatever the concurrency, so 4
# workers: with 32 each login waits seconds for a core and most are cut off
# by the end of the run.
mkdir -p "$WORK/bcrypt12"
start_server bcrypt12 DATA_DIR="$WORK/bcrypt12" RATE_LIMITS_ENABLED=false LOGIN_MAX_ATTEMPTS=1000 INSTANCE_ID=bench-bcrypt12
C=4 load embedded-bcrypt12 "$PORT_bcrypt12" -scenario login
stop "$PID_bcrypt12"
fi
stop "$PID_base_json"
echo "load at end: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/machine.txt" >&2

# ---- the table -----------------------------------------------------------
# rps is HTTP requests per second; a budget-cycle unit is two requests
# (request + commit), so it is compared with pgbench in cycles per second.
# Each row is compared with the latest baseline run before it.
# shellcheck disable=SC2016
jq -rs '
  def cycles(r): if r.scenario == "budget-cycle" then ((r.extra.cycles_committed // 0) / r.duration_s) else null end;
  def f(x): if x == null then "—" else (x * 10 | round / 10 | tostring) end;
  def pct(x; y): if x == null or y == null or y == 0 then "—" else ((x / y * 1000 | round) / 10 | tostring) + "%" end;
  (reduce .[] as $r ({b: {}, rows: []};
    if ($r.label | startswith("baseline")) then .b[$r.scenario + "/" + $r.label] = $r.rps | .rows += [$r]
    else .rows += [$r + {bases: .b}] end) | .rows) as $rows |
  "| scenario | mode | c | rps | p50 ms | p99 ms | baseline | baseline rps | ratio | note |",
  "|---|---|---|---|---|---|---|---|---|---|",
  ($rows[] |
    . as $r | cycles($r) as $cy | ($r.bases // {}) as $b |
    (if ($r.label | startswith("baseline")) then ["—", null, null]
     elif $r.scenario == "budget-cycle" and $r.label == "prod-hot" then ["(c) pgbench 1 row", $b["pgbench-one/baseline-pgbench"], $cy]
     elif $r.scenario == "budget-cycle" and $r.label == "prod" then ["(c) pgbench 100 rows", $b["pgbench-hundred/baseline-pgbench"], $cy]
     elif $r.scenario == "me" and $r.label == "prod-limits" then ["(b) Gin + Redis INCR", $b["me/baseline-redis"], $r.rps]
     elif ($r.scenario == "me" or $r.scenario == "health") and ($r.label == "embedded" or $r.label == "prod")
       then ["(a) bare Gin", $b["me/baseline-json"], $r.rps]
     else ["—", null, null] end) as [$bname, $brps, $mine] |
    ([ (if $cy != null then "\(f($cy)) cycles/s" else empty end),
       (if $r.target_rps then "paced at \($r.target_rps)/s" else empty end),
       (if $r.extra.over_allocation != null then "over_allocation \($r.extra.over_allocation), approved \($r.extra.approved), refused \($r.extra.insufficient)" else empty end),
       (if ($r.errors // 0) > 0 then "errors \($r.errors): \($r.first_error)" else empty end),
       ($r.status | to_entries | map(select(.key | startswith("2") | not)) | if length > 0 then "non-2xx " + (map("\(.key)×\(.value)") | join(" ")) else empty end)
     ] | join("; ")) as $note |
    "| \($r.scenario) | \($r.label) | \($r.concurrency) | \(f($r.rps)) | \($r.latency_ms.p50) | \($r.latency_ms.p99) | \($bname) | \(f($brps)) | \(pct($mine; $brps)) | \($note) |"
  )' "$RESULTS" | tee "$OUT/summary.md"

# ---- the targets -----------------------------------------------------------
{
	echo
	echo "targets (each repetition; the machine is shared, see docs/PERFORMANCE.md):"
	# shellcheck disable=SC2016
	jq -rs '
	  def cycles(r): (r.extra.cycles_committed // 0) / r.duration_s;
	  def verdict(ok): if ok then "PASS" else "FAIL" end;
	  (reduce .[] as $r ({b: {}, out: []};
	    if ($r.label | startswith("baseline")) then .b[$r.scenario + "/" + $r.label] = $r.rps
	    elif $r.scenario == "me" and $r.label == "prod-limits" then
	      (($r.rps / .b["me/baseline-redis"]) as $x | .out += ["me (limits on) / (b) >= 60%: \($x * 1000 | round / 10)% \(verdict($x >= 0.6))"])
	    elif $r.scenario == "budget-cycle" and $r.label == "prod-hot" then
	      ((cycles($r) / .b["pgbench-one/baseline-pgbench"]) as $x | .out += ["budget-cycle hot / (c) 1 row >= 50%: \($x * 1000 | round / 10)% \(verdict($x >= 0.5))"])
	    elif $r.scenario == "overspend" then .out += ["overspend \($r.label) over_allocation = 0: \($r.extra.over_allocation) \(verdict($r.extra.over_allocation == 0))"]
	    elif $r.label == "prod-limits-half" then .out += ["me p99 < 10 ms at \($r.target_rps)/s (half of max): \($r.latency_ms.p99) ms \(verdict($r.latency_ms.p99 < 10))"]
	    elif $r.label == "growth-empty" then .b["growth-empty"] = $r
	    elif $r.label == "growth-full" and .b["growth-empty"] != null then
	      (.b["growth-empty"] as $e | (cycles($r) / cycles($e)) as $x | ($r.latency_ms.p99 / $e.latency_ms.p99) as $y |
	       .out += ["growth: filled / empty budget-cycle >= 80%: \($x * 1000 | round / 10)% \(verdict($x >= 0.8)); p99 \($r.latency_ms.p99) vs \($e.latency_ms.p99) ms, <= 120%: \(verdict($y <= 1.2))"])
	    elif ($r.label | test("^growth-.*-first$")) then .b[$r.label] = $r.latency_ms.p50
	    elif ($r.label | test("^growth-.*-(mid|last)$")) and .b[$r.label | sub("-(mid|last)$"; "-first")] != null then
	      (.b[$r.label | sub("-(mid|last)$"; "-first")] as $f |
	       .out += ["\($r.label): p50 \($r.latency_ms.p50) ms vs the first page \($f) ms, <= 120% (+0.2 ms): \(verdict($r.latency_ms.p50 <= $f * 1.2 + 0.2))"])
	    else . end) | .out[])' "$RESULTS"
	if [[ -f $RSS ]]; then
		hwm=$(awk '/^VmHWM after/ { v = $6 + 0; if (v > m) m = v } END { print m + 0 }' "$RSS")
		echo "server peak RSS under 256 connections < 150 MB: $((hwm / 1024)) MiB $([[ $hwm -lt 153600 ]] && echo PASS || echo FAIL)"
	fi
} | tee -a "$OUT/summary.md"
