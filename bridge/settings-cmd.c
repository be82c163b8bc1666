/*
 * saltbridge set and unset, once their options are parsed: the settings
 * listed or shown, and one changed in CONFIG/settings (bridge/settings.h).
 */
#include "bridge-private.h"

#include <stdio.h>
#include <string.h>

#include "common/file.h"

/* "imap-port  = 1143 (default)" */
static void
settings_print(const struct bridge_settings *s, enum bridge_setting key)
{
	char value[BRIDGE_SETTING_VALUE_MAX];

	bridge_setting_format(s, key, value);
	printf("%-10s = %s%s\n", bridge_setting_name(key), value,
	       s->given & (1u << key) ? "" : " (default)");
}

int
bridge_settings_show(const struct bridge_paths *p, int key,
                     const char **error_r)
{
	struct bridge_settings s;
	size_t i;

	if (bridge_settings_load(p->settings, &s, error_r) != 0)
		return -1;
	for (i = 0; i < BRIDGE_SETTINGS_COUNT; i++) {
		if (key < 0 || (size_t)key == i)
			settings_print(&s, i);
	}
	return fflush(stdout) == 0 ? 0 : -1;
}

/* A listen address that other machines reach needs allow_remote. */
static int SB_WUR
settings_check_remote(enum bridge_setting key, const char *value,
                      bool allow_remote, const char **error_r)
{
	struct bridge_settings s;
	const char *error;

	if (key != BRIDGE_SETTING_LISTEN || allow_remote)
		return 0;
	bridge_settings_default(&s);
	if (bridge_setting_parse(&s, key, value, strlen(value), &error) != 0 ||
	    bridge_listen_is_loopback(s.listen))
		return 0; /* the change itself says what is wrong */
	*error_r = bridge_errorf(
	        "%s is not a loopback address: other machines could then "
	        "reach the bridge's IMAP and SMTP, with only the bridge "
	        "passwords to keep them out, and its certificate names only "
	        "127.0.0.1, ::1 and localhost. Add --allow-remote if that is "
	        "what you want.",
	        s.listen);
	return -1;
}

int
bridge_settings_set(const struct bridge_paths *p, enum bridge_setting key,
                    const char *value, bool allow_remote, const char **error_r)
{
	struct bridge_settings s;
	const char *error;
	long pid;

	if (value != NULL &&
	    settings_check_remote(key, value, allow_remote, error_r) != 0)
		return -1;
	if (sb_mkdir_p(p->config_dir, 0700, error_r) != 0 ||
	    bridge_settings_change(p->settings, key, value, &s, error_r) != 0)
		return -1;
	settings_print(&s, key);
	if (bridge_serve_running(p, &pid, NULL, &error) == 1)
		printf("saltbridge serve (pid %ld) takes it on SIGHUP: "
		       "kill -HUP %ld\n",
		       pid, pid);
	return fflush(stdout) == 0 ? 0 : -1;
}
