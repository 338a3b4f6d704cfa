/* Parsing of RFC 5322 date-time values (section 3.3, with the obsolete
 * forms of section 4.3), the counterpart of mime_header_append_date. */
#ifndef SMIMEGW_MIME_DATE_H
#define SMIMEGW_MIME_DATE_H

#include <time.h>

/* Parses a date-time such as "Tue, 1 Jul 2003 10:52:37 +0200", with or
 * without the day of the week and the seconds, with comments and folding
 * white space anywhere between the tokens, two- and three-digit years and
 * the zone names UT, GMT, EST, EDT, CST, CDT, MST, MDT, PST and PDT. On
 * success returns 0 with *t_r the instant and *offset_r the zone offset in
 * minutes east of UTC. Returns -1 for anything else, including an invalid
 * day of the month, an hour past 23 or a day of the week that does not
 * match the date. */
int mime_date_parse(const char *text, time_t *t_r, int *offset_r);

#endif
