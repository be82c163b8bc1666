/*
 * saltbridge demo's service side (demo-private.h): saltmaild started on
 * its folder, the accounts signed up on it and logged in to the demo's
 * bridge, the sample mail delivered, and the bridge passwords read back.
 */
#include "bridge/demo-private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "common/buf.h"

/*
 * Runs a saltmaild command (`what`, for messages) to its end with `in` on
 * its standard input; it must exit 0. What it says is shown only when it
 * fails.
 */
static int SB_WUR
demo_command(const char *const *argv, const char *what, const void *in,
             size_t len, const char **error_r)
{
	struct sb_buf output;
	int status, ret = -1;

	sb_buf_init(&output, 1024);
	if (demo_run(argv, in, len, &status, &output, error_r) != 0) {
		/* error_r says why */
	} else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		*error_r = bridge_errorf(
		        "%s %s%s%s", what, demo_status_text(status),
		        output.len > 0 ? ": " : "", sb_buf_str(&output));
	} else {
		ret = 0;
	}
	sb_buf_free(&output);
	return ret;
}

static int SB_WUR
demo_service_init(struct demo *d, const char **error_r)
{
	const char *argv[] = {d->saltmaild, "init", "--data", d->service_dir,
	                      NULL};

	return demo_command(argv, "saltmaild init", "", 0, error_r);
}

/*
 * saltmaild serve on 127.0.0.1:port, up to its ready line: 1 ready, 0
 * when it ended without one, -1 on a failure or a stop.
 */
static int SB_WUR
demo_service_spawn(struct demo *d, unsigned port, const char **error_r)
{
	char listen[32];
	const char *argv[] = {
	        d->saltmaild, "serve", "--data",        d->service_dir,
	        "--listen",   listen,  "--open-signup", "--log-level",
	        d->log_level, NULL};
	struct sb_buf line;
	unsigned got;
	int ret = -1;

	snprintf(listen, sizeof(listen), "127.0.0.1:%u", port);
	if (demo_child_start(&d->maild, argv, -1, DEMO_CAPTURE, -1, error_r) !=
	    0)
		return -1;
	sb_buf_init(&line, DEMO_LINE_MAX + 1);
	switch (demo_child_line(&d->maild, &d->sig, DEMO_SERVICE_READY_MS,
	                        DEMO_LINE_MAX, &line)) {
	case DEMO_WAIT_LINE:
		if (sscanf(sb_buf_str(&line),
		           "saltmaild: ready https://127.0.0.1:%u",
		           &got) == 1 &&
		    got > 0 && got <= 65535) {
			snprintf(d->api_url, sizeof(d->api_url),
			         "https://127.0.0.1:%u", got);
			d->st.service_port = got;
			ret = 1;
		} else {
			*error_r = bridge_errorf("saltmaild printed '%s' "
			                         "where its ready line was "
			                         "expected",
			                         sb_buf_str(&line));
		}
		break;
	case DEMO_WAIT_ENDED:
		(void)demo_child_stop(&d->maild, DEMO_SERVICE_STOP_MS);
		*error_r = bridge_errorf("saltmaild %s before it was ready",
		                         demo_status_text(d->maild.status));
		ret = 0;
		break;
	case DEMO_WAIT_TIMEOUT:
		*error_r = bridge_errorf("saltmaild was not ready within %d s",
		                         DEMO_SERVICE_READY_MS / 1000);
		break;
	case DEMO_WAIT_STOP:
		*error_r = "stopped";
		break;
	default:
		*error_r = "cannot read what saltmaild says";
		break;
	}
	sb_buf_free(&line);
	return ret;
}

/*
 * Initialises the service's folder (every run: it is idempotent, and
 * renews the certificate) and starts saltmaild on the port of the last
 * run, where the bridge's sessions point, or a free one when it is taken.
 */
int
demo_service_start(struct demo *d, const char **error_r)
{
	unsigned last = d->st.service_port;
	int ret;

	if (demo_service_init(d, error_r) != 0)
		return -1;
	ret = demo_service_spawn(d, last, error_r);
	if (ret == 0 && last != 0) {
		demo_say("saltmaild cannot listen on port %u again; it takes "
		         "a free one",
		         last);
		ret = demo_service_spawn(d, 0, error_r);
	}
	if (ret <= 0)
		return -1;
	demo_say("saltmaild running, pid %ld, %s", (long)d->maild.pid,
	         d->api_url);
	if (d->st.service_port != last)
		return demo_state_save(d->state_path, &d->st, error_r);
	return 0;
}

/* ---- The accounts ---- */

/*
 * Which accounts the bridge holds already (signed up, then). When
 * saltmaild had to take another port than at the last run, the service
 * moved: their entries follow it, so that the login's end of the
 * previous session goes to the service rather than to whatever listens
 * on the old port now.
 */
static int SB_WUR
demo_accounts_known(struct demo *d, bool known[DEMO_ACCOUNTS],
                    const char **error_r)
{
	char id[API_ACCOUNT_ID_LEN + 1], *url;
	struct bridge_vault bv;
	bool moved = false;
	size_t i;
	int ret;

	memset(known, 0, sizeof(bool) * DEMO_ACCOUNTS);
	ret = bridge_vault_open_existing(&bv, &d->paths, error_r);
	if (ret <= 0)
		return ret;
	for (i = 0; ret >= 0 && i < DEMO_ACCOUNTS; i++) {
		known[i] = bridge_account_find(bv.v, demo_emails[i], id) == 1;
		if (!known[i])
			continue;
		url = bridge_entry_str(bv.v, id, BRIDGE_ENTRY_API_URL);
		if (url == NULL || strcmp(url, d->api_url) != 0) {
			moved = true;
			ret = bridge_entry_set(bv.v, id, BRIDGE_ENTRY_API_URL,
			                       d->api_url, strlen(d->api_url),
			                       error_r);
		}
		free(url);
	}
	if (ret >= 0 && moved)
		ret = bridge_vault_save(&bv, error_r);
	bridge_vault_close(&bv);
	return ret < 0 ? -1 : 0;
}

/*
 * Signs up the accounts the bridge does not hold yet (one the service
 * has already, from a run cut short, is fine), and logs every account
 * in: the service may listen on another port than at the last run, and
 * a new session is good for the refresh token's lifetime.
 */
int
demo_accounts(struct demo *d, const char **error_r)
{
	struct bridge_login_options lo;
	char id[API_ACCOUNT_ID_LEN + 1];
	bool known[DEMO_ACCOUNTS];
	const char *pw;
	size_t i;
	int ret;

	if (demo_accounts_known(d, known, error_r) != 0)
		return -1;
	for (i = 0; i < DEMO_ACCOUNTS; i++) {
		pw = d->st.passwords[i];
		if (!known[i]) {
			ret = bridge_signup(d->api_url, d->ca_file,
			                    demo_emails[i], pw, strlen(pw),
			                    error_r);
			if (ret < 0)
				return -1;
			if (ret > 0)
				demo_say("signed up %s (its password is in "
				         "%s)",
				         demo_emails[i], d->state_path);
		}
		if (demo_signals_poll(&d->sig)) {
			*error_r = "stopped";
			return -1;
		}
		memset(&lo, 0, sizeof(lo));
		lo.email = demo_emails[i];
		lo.api_url = d->api_url;
		lo.ca_file = d->ca_file;
		if (bridge_login(&d->paths, &lo, pw, strlen(pw), id, error_r) !=
		    0)
			return -1;
		demo_say("logged %s in to the bridge", demo_emails[i]);
		if (demo_signals_poll(&d->sig)) {
			*error_r = "stopped";
			return -1;
		}
	}
	return 0;
}

/* The samples not delivered yet, each counted in the state once done. */
int
demo_deliver_samples(struct demo *d, const char **error_r)
{
	const char *argv[] = {d->saltmaild, "deliver", "--data", d->service_dir,
	                      "--to",       NULL,      NULL};
	unsigned first = d->st.samples;
	time_t now = time(NULL);
	struct sb_buf msg;
	size_t i;
	int ret = 0;

	sb_buf_init(&msg, 64 * 1024);
	for (i = first; ret == 0 && i < demo_samples_count; i++) {
		sb_buf_reset(&msg);
		argv[5] = demo_samples[i].to;
		if (demo_sample_build(&demo_samples[i], now, d->run_id, &msg) !=
		    0) {
			*error_r = "a sample message is too large";
			ret = -1;
		} else if (demo_command(argv, "saltmaild deliver", msg.data,
		                        msg.len, error_r) != 0) {
			ret = -1;
		} else {
			/*
			 * A crash between the delivery and this save would
			 * deliver that sample again next time: once, at most.
			 */
			d->st.samples = (unsigned)i + 1;
			ret = demo_state_save(d->state_path, &d->st, error_r);
		}
		if (ret == 0 && demo_signals_poll(&d->sig)) {
			*error_r = "stopped";
			ret = -1;
		}
	}
	sb_buf_free(&msg);
	if (ret == 0 && d->st.samples > first)
		demo_say("delivered %u sample messages", d->st.samples - first);
	return ret;
}

/* The accounts' bridge passwords, from the vault. */
int
demo_bridge_passwords(struct demo *d, const char **error_r)
{
	char id[API_ACCOUNT_ID_LEN + 1];
	struct bridge_vault bv;
	int opened, ret = 0;
	size_t i;

	opened = bridge_vault_open_existing(&bv, &d->paths, error_r);
	if (opened < 0)
		return -1;
	for (i = 0; ret == 0 && i < DEMO_ACCOUNTS; i++) {
		if (opened > 0 &&
		    bridge_account_find(bv.v, demo_emails[i], id) == 1)
			d->bridge_passwords[i] = bridge_entry_secret_str(
			        bv.v, id, BRIDGE_ENTRY_BRIDGE_PASSWORD);
		if (d->bridge_passwords[i] == NULL) {
			*error_r = bridge_errorf("the bridge holds no bridge "
			                         "password for %s",
			                         demo_emails[i]);
			ret = -1;
		}
	}
	if (opened > 0)
		bridge_vault_close(&bv);
	return ret;
}
