# shellcheck shell=bash
# bench-growth.sh — sourced by scripts/bench.sh (it uses its variables and
# functions: PROD, BIN, OUT, WORK, SECS, C, REPEAT, start_server, load,
# pprof_during, stop, free_port, log, die, section). The two sections of
# issue 21, items 4 and 5; figures and how to read them: docs/PERFORMANCE.md.
#
# growth (BENCH_ONLY=growth): two databases migrated by the service, one left
# empty and one filled by scripts/growth-prefill.sql with
# BENCH_GROW_RESERVATIONS reservations over BENCH_GROW_BUDGETS budgets
# (default 1 000 000 over 10 000, with their ledger rows and audit entries;
# `control-plane reconcile` must agree before anything is measured), a server
# on each, then:
#   1. budget-cycle over BENCH_GROW_SPREAD (default 1 000) budgets of tenant
#      grow<k> — prefilled budgets on one side, the same names fresh on the
#      other — REPEAT times, empty and filled back to back;
#   2. the first, a middle and the last page of /budget/reservations (all,
#      one tenant, one budget) and of /audit (all, one action) on the filled
#      database;
#   3. EXPLAIN (ANALYZE, BUFFERS) of every query on these paths
#      (scripts/growth-explain.sql) into growth-explain.txt;
#   4. the sweeper (BUDGET_SWEEP_INTERVAL=1s): every pending prefilled
#      reservation (a tenth of them) made due at once, the time until none is
#      left, the batches it took (from the budget.expire audit entries) and
#      budget-cycle on the same budgets meanwhile; reconcile again.
# BENCH_GROW_DB=name reuses a database filled before (not dropped; its
# pending reservations are gone after one sweep, so step 4 then measures
# nothing).
#
# replicas (BENCH_ONLY=replicas): one fresh database, three servers on it,
# budget-cycle (one budget per worker, as in prod) through 1, 2 and 3 of them
# (the load tool spreads its workers over the -base-url list), REPEAT times;
# for each run the database's commits per second (pg_stat_database), the CPU
# seconds of the servers, of PostgreSQL and of the whole machine, and a
# sample of what PostgreSQL's active backends wait for; a CPU profile of
# server 1 while three serve.

GROW_BUDGETS=${BENCH_GROW_BUDGETS:-10000}
GROW_RES=${BENCH_GROW_RESERVATIONS:-1000000}
GROW_SPREAD=${BENCH_GROW_SPREAD:-1000}
GROW_TENANT=grow$(((GROW_BUDGETS - 1) / 1000 / 2)) # a tenant in the middle
GROWTH=$OUT/growth.txt
REPLICAS=$OUT/replicas.txt

dburl() { echo "postgres://$PGUSER@$PGHOST:5432/$1?sslmode=disable"; }
sql() { psql -XtA -h $PGHOST -U $PGUSER -d "$1" -c "$2"; }

# cp_on DB ARGS...: the control-plane command line on database DB.
cp_on() {
	local db=$1
	shift
	env -i PATH="$PATH" HOME="$HOME" "${PROD[@]}" DATABASE_URL="$(dburl "$db")" "$BIN/control-plane" "$@"
}

# new_db NAME: a fresh database, migrated (demo users seeded), dropped on exit.
new_db() {
	psql -qX -h $PGHOST -U $PGUSER -d postgres -c "CREATE DATABASE $1" >/dev/null
	EXTRA_DBS+=("$1")
	cp_on "$1" migrate >"$OUT/migrate-$1.log" 2>&1 || die "migrate $1 (see $OUT/migrate-$1.log)"
}

# cursor_of DB SQL: the API cursor of the row (created_at, id) SQL returns,
# encoded as services/cursor does (base64url JSON, no padding).
cursor_of() {
	local row
	row=$(psql -XtA -F' ' -h $PGHOST -U $PGUSER -d "$1" -c "$2")
	jq -cnj --arg t "${row% *}" --arg id "${row#* }" '{t: $t, id: $id}' | base64 -w0 | tr '+/' '-_' | tr -d '='
}

# cpu_snap PID...: "pid ticks" of each process (user + system clock ticks).
cpu_snap() {
	local p
	for p in "$@"; do
		[[ -r /proc/$p/stat ]] && awk -v p="$p" '{ print p, $14 + $15 }' "/proc/$p/stat"
	done
	return 0
}
# cpu_delta BEFORE AFTER: CPU seconds used between two snapshots by the
# processes present in both (a process that ended in between is left out).
cpu_delta() {
	awk -v k="$(getconf CLK_TCK)" 'NR == FNR { a[$1] = $2; next } ($1 in a) { t += $2 - a[$1] } END { printf "%.2f", t / k }' "$1" "$2"
}
# pg_backends DB: the PostgreSQL backends connected to DB (the servers' pools).
pg_backends() { sql "$1" "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"; }
busy_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $5 + $6 }' /proc/stat; }

# reconciled WHAT: control-plane reconcile on the filled database must agree.
reconciled() {
	if ! cp_on "$FULL_DB" reconcile >"$WORK/reconcile.txt" 2>&1; then
		tail -5 "$WORK/reconcile.txt" >&2
		die "$1 does not reconcile"
	fi
	echo "reconcile ($1): $(tail -1 "$WORK/reconcile.txt")" | tee -a "$GROWTH" >&2
}

if section growth; then
	log "growth: $GROW_RES reservations over $GROW_BUDGETS budgets"
	{
		echo "growth section, $(date -Is), load $(cut -d' ' -f1-3 /proc/loadavg)"
		echo "reservations $GROW_RES, budgets $GROW_BUDGETS, budget-cycle over $GROW_SPREAD budgets of $GROW_TENANT"
	} | tee "$GROWTH" >&2
	EMPTY_DB=${DB}_empty
	new_db "$EMPTY_DB"
	if [[ -n ${BENCH_GROW_DB:-} ]]; then
		FULL_DB=$BENCH_GROW_DB
		echo "reusing the filled database $FULL_DB" | tee -a "$GROWTH" >&2
	else
		FULL_DB=${DB}_full
		new_db "$FULL_DB"
		admin=$(sql "$FULL_DB" "SELECT id FROM users WHERE username = 'admin'")
		t0=$(date +%s)
		psql -X -h $PGHOST -U $PGUSER -d "$FULL_DB" -v budgets="$GROW_BUDGETS" -v reservations="$GROW_RES" \
			-v admin_id="$admin" -f "$ROOT/scripts/growth-prefill.sql" >"$OUT/growth-prefill.txt" 2>&1 ||
			die "prefill failed (see $OUT/growth-prefill.txt)"
		echo "prefill: $(($(date +%s) - t0)) s (load $(cut -d' ' -f1-3 /proc/loadavg))" | tee -a "$GROWTH" >&2
	fi
	sql "$FULL_DB" "SELECT 'rows: reservations ' || (SELECT count(*) FROM budget_reservations) || ', ledger ' ||
		(SELECT count(*) FROM budget_transactions) || ', audit ' || (SELECT count(*) FROM audit_log) || ', pending ' ||
		(SELECT count(*) FROM budget_reservations WHERE status = 'pending') || ', database ' ||
		pg_size_pretty(pg_database_size(current_database()))" | tee -a "$GROWTH" >&2
	reconciled "the filled ledger"

	mkdir -p "$WORK/grow-empty" "$WORK/grow-full"
	PPROF_G=127.0.0.1:$(free_port)
	start_server grow_empty "${PROD[@]}" DATABASE_URL="$(dburl "$EMPTY_DB")" DATA_DIR="$WORK/grow-empty" \
		RATE_LIMITS_ENABLED=false INSTANCE_ID=bench-grow-empty
	start_server grow_full "${PROD[@]}" DATABASE_URL="$(dburl "$FULL_DB")" DATA_DIR="$WORK/grow-full" \
		RATE_LIMITS_ENABLED=false INSTANCE_ID=bench-grow-full BUDGET_SWEEP_INTERVAL=1s PPROF_ADDR="$PPROF_G"

	# 1. reserve/commit on an empty and on a filled ledger, back to back.
	for r in $(seq "$REPEAT"); do
		load growth-empty "$PORT_grow_empty" -scenario budget-cycle -tenant "$GROW_TENANT" -budgets "$GROW_SPREAD"
		load growth-full "$PORT_grow_full" -scenario budget-cycle -tenant "$GROW_TENANT" -budgets "$GROW_SPREAD"
	done
	pprof_during growth-full "$PPROF_G" "$PORT_grow_full" -scenario budget-cycle -tenant "$GROW_TENANT" -budgets "$GROW_SPREAD"

	# 2. first and last page of each list (the last page: the cursor of the
	#    51st oldest row, so the page holds the 50 oldest).
	oldest="to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), id"
	project=p$((GROW_SPREAD / 2))
	while IFS='|' read -r name path from where; do
		cur=$(cursor_of "$FULL_DB" "SELECT $oldest FROM $from $where ORDER BY created_at, id OFFSET 50 LIMIT 1")
		mid=$(cursor_of "$FULL_DB" "SELECT $oldest FROM $from $where ORDER BY created_at, id
			OFFSET (SELECT count(*) / 2 FROM $from $where) LIMIT 1")
		load "growth-$name-first" "$PORT_grow_full" -scenario get -path "$path"
		load "growth-$name-mid" "$PORT_grow_full" -scenario get -path "$path&cursor=$mid"
		load "growth-$name-last" "$PORT_grow_full" -scenario get -path "$path&cursor=$cur"
	done <<EOF
reservations|/api/v1/budget/reservations?limit=50|budget_reservations|
reservations-tenant|/api/v1/budget/reservations?limit=50&tenant_id=$GROW_TENANT|budget_reservations|WHERE tenant_id = '$GROW_TENANT'
reservations-budget|/api/v1/budget/reservations?limit=50&tenant_id=$GROW_TENANT&project_id=$project|budget_reservations|WHERE tenant_id = '$GROW_TENANT' AND project_id = '$project'
audit|/api/v1/audit?limit=50|audit_log|
audit-action|/api/v1/audit?limit=50&action=budget.commit|audit_log|WHERE action = 'budget.commit'
EOF

	# 3. the plans.
	psql -X -h $PGHOST -U $PGUSER -d "$FULL_DB" -f "$ROOT/scripts/growth-explain.sql" >"$OUT/growth-explain.txt" 2>&1 ||
		die "EXPLAIN failed (see $OUT/growth-explain.txt)"
	log "plans in $OUT/growth-explain.txt"

	# 4. the sweeper on every pending prefilled reservation at once, with
	#    budget-cycle on the same budgets meanwhile.
	since=$(sql "$FULL_DB" "SELECT clock_timestamp()")
	due=$(sql "$FULL_DB" "WITH d AS (UPDATE budget_reservations SET expires_at = clock_timestamp() - interval '1 second'
		WHERE status = 'pending' AND tenant_id LIKE 'grow%' RETURNING 1) SELECT count(*) FROM d")
	t0=$(date +%s.%N)
	load growth-during-sweep "$PORT_grow_full" -scenario budget-cycle -tenant "$GROW_TENANT" -budgets "$GROW_SPREAD" &
	lpid=$!
	PIDS+=("$lpid")
	left=$due
	for _ in $(seq 6000); do
		left=$(sql "$FULL_DB" "SELECT count(*) FROM budget_reservations WHERE status = 'pending' AND expires_at <= clock_timestamp()
			AND tenant_id LIKE 'grow%'")
		[[ $left -eq 0 ]] && break
		sleep 0.2
	done
	t1=$(date +%s.%N)
	wait "$lpid" || die "load during the sweep failed"
	forget "$lpid"
	{
		awk -v n="$due" -v l="$left" -v a="$t0" -v b="$t1" \
			'BEGIN { printf "sweep: %d due, %d left, %.1f s, %.0f expired/s\n", n, l, b - a, (n - l) / (b - a) }'
		# Each batch writes its audit entries with one created_at; the gap
		# between two batches' is the longer of a batch and a tick.
		sql "$FULL_DB" "SELECT 'sweep batches: ' || count(*) || ', largest ' || max(n) || ' reservations, gap between batches p50 ' ||
			round(percentile_cont(0.5) WITHIN GROUP (ORDER BY gap)::numeric, 1) || ' ms, p99 ' ||
			round(percentile_cont(0.99) WITHIN GROUP (ORDER BY gap)::numeric, 1) || ' ms, max ' || round(max(gap)::numeric, 1) || ' ms'
			FROM (SELECT n, extract(epoch FROM created_at - lag(created_at) OVER (ORDER BY created_at)) * 1000 AS gap
			      FROM (SELECT created_at, count(*) AS n FROM audit_log WHERE action = 'budget.expire' AND created_at >= '$since'
			            GROUP BY created_at) b) g"
		echo "load at the end of the sweep: $(cut -d' ' -f1-3 /proc/loadavg)"
	} | tee -a "$GROWTH" >&2
	reconciled "the ledger after the sweep"
	stop "$PID_grow_full"
	stop "$PID_grow_empty"
fi

if section replicas; then
	REP_DB=${DB}_rep
	new_db "$REP_DB"
	urls=()
	rep_pids=()
	for i in 1 2 3; do
		mkdir -p "$WORK/rep$i"
		printf -v "PPROF_rep$i" %s "127.0.0.1:$(free_port)"
		ppvar=PPROF_rep$i
		start_server "rep$i" "${PROD[@]}" DATABASE_URL="$(dburl "$REP_DB")" DATA_DIR="$WORK/rep$i" \
			RATE_LIMITS_ENABLED=false INSTANCE_ID="bench-rep$i" PPROF_ADDR="${!ppvar}"
		pv=PORT_rep$i pidv=PID_rep$i
		urls+=("http://127.0.0.1:${!pv}")
		rep_pids+=("${!pidv}")
	done
	echo "replicas section, $(date -Is), load $(cut -d' ' -f1-3 /proc/loadavg); budget-cycle -c $C, one budget per worker" |
		tee "$REPLICAS" >&2
	# run_replicas N LABEL: budget-cycle through the first N servers, with
	# the database's commits and the CPU seconds of everything during it.
	run_replicas() {
		local n=$1 label=$2 list commits0 commits1 srv pg ticks0 ticks1 waits
		list=$(
			IFS=,
			echo "${urls[*]:0:n}"
		)
		# shellcheck disable=SC2046
		cpu_snap "${rep_pids[@]}" >"$WORK/srv0"
		# shellcheck disable=SC2046
		cpu_snap $(pg_backends "$REP_DB") >"$WORK/pg0"
		commits0=$(sql "$REP_DB" "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()")
		ticks0=$(busy_ticks)
		# What the active backends wait for, sampled every 0.25 s.
		(for _ in $(seq $((SECS * 4))); do
			sql "$REP_DB" "SELECT coalesce(wait_event_type || ':' || wait_event, 'CPU') FROM pg_stat_activity
				WHERE datname = current_database() AND state = 'active' AND pid <> pg_backend_pid()"
			sleep 0.25
		done) >"$WORK/waits-$label" 2>/dev/null &
		local wpid=$!
		PIDS+=("$wpid")
		"$BIN/loadtest" -base-url "$list" -label "$label" -n $N -d "${SECS}s" -c "$C" -scenario budget-cycle |
			tee -a "$RESULTS" >&2
		commits1=$(sql "$REP_DB" "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()")
		ticks1=$(busy_ticks)
		cpu_snap "${rep_pids[@]}" >"$WORK/srv1"
		# shellcheck disable=SC2046
		cpu_snap $(pg_backends "$REP_DB") >"$WORK/pg1"
		srv=$(cpu_delta "$WORK/srv0" "$WORK/srv1")
		pg=$(cpu_delta "$WORK/pg0" "$WORK/pg1")
		wait "$wpid" 2>/dev/null || true
		forget "$wpid"
		waits=$(sort "$WORK/waits-$label" | uniq -c | sort -rn | head -5 | awk '{ printf "%s %s; ", $2, $1 }')
		awk -v l="$label" -v s="$SECS" -v c0="$commits0" -v c1="$commits1" -v srv="$srv" -v pg="$pg" \
			-v t0="$ticks0" -v t1="$ticks1" -v w="$waits" -v la="$(cut -d' ' -f1 /proc/loadavg)" 'BEGIN {
				split(t0, x, " "); split(t1, y, " "); busy = y[1] - x[1]; idle = y[2] - x[2]
				printf "%s: commits/s %.0f, CPU s per s: servers %.2f, their PostgreSQL backends %.2f, machine busy %.0f%%, load %s; backends waiting: %s\n",
					l, (c1 - c0) / s, srv / s, pg / s, 100 * busy / (busy + idle), la, w }' |
			tee -a "$REPLICAS" >&2
	}
	# Warm up: every server opens its pool of connections (the CPU figures
	# follow the backends that exist before and after a run).
	"$BIN/loadtest" -base-url "$(
		IFS=,
		echo "${urls[*]}"
	)" -label replicas-warmup -n $N -d 3s -c "$C" -scenario budget-cycle >/dev/null
	for r in $(seq "$REPEAT"); do
		for n in 1 2 3; do run_replicas "$n" "replicas-$n"; done
	done
	# A profile of server 1 while all three serve.
	curl -fsS -o "$OUT/cpu-replicas-3.pprof" "http://$PPROF_rep1/debug/pprof/profile?seconds=$SECS" &
	cpid=$!
	PIDS+=("$cpid")
	sleep 0.2
	run_replicas 3 pprof-replicas-3
	wait "$cpid" || die "pprof download failed"
	forget "$cpid"
	go tool pprof -top -cum -nodecount=60 "$BIN/control-plane" "$OUT/cpu-replicas-3.pprof" >"$OUT/cpu-replicas-3.cum.txt" 2>/dev/null
	for p in "${rep_pids[@]}"; do stop "$p"; done
fi
