/*
 * cmd_help: the help texts of the commands defined outside cli.c, for the
 * command table there.
 */
#ifndef HERALD_CMD_HELP_H
#define HERALD_CMD_HELP_H

extern const char cmd_send_help[];
extern const char cmd_check_help[];
extern const char cmd_serve_help[];
extern const char cmd_config_help[];
extern const char cmd_route_help[];
extern const char cmd_summary_help[];
extern const char cmd_silence_help[];

#endif
