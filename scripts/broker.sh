# Sourced by scripts/test and scripts/demo: start_broker DIR starts a private
# mosquitto on a free loopback port, with its config and log in DIR, and sets
# BROKER_PID, BROKER_PORT and BROKER_URL. stop_broker stops it by PID.

_port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start_broker() {
	local dir=$1 bin
	bin=$(command -v mosquitto || echo /usr/sbin/mosquitto)
	MOSQUITTO_BIN=$bin
	for _ in $(seq 50); do
		BROKER_PORT=$((20000 + RANDOM % 40000))
		_port_free "$BROKER_PORT" && break
	done
	cat >"$dir/mosquitto.conf" <<CONF
listener $BROKER_PORT 127.0.0.1
allow_anonymous true
persistence false
log_dest stderr
log_type error
CONF
	"$bin" -c "$dir/mosquitto.conf" 2>"$dir/mosquitto.log" &
	BROKER_PID=$!
	for _ in $(seq 100); do
		_port_free "$BROKER_PORT" || break
		sleep 0.05
	done
	if _port_free "$BROKER_PORT"; then
		echo "mosquitto did not start:" >&2
		cat "$dir/mosquitto.log" >&2
		return 1
	fi
	BROKER_URL="tcp://127.0.0.1:$BROKER_PORT"
}

stop_broker() {
	if [[ -n ${BROKER_PID:-} ]]; then
		kill "$BROKER_PID" 2>/dev/null || true
		wait "$BROKER_PID" 2>/dev/null || true
		BROKER_PID=
	fi
}
