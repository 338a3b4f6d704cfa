/* Parsing of RFC 5322 date-time header values. */
#include "mime/date.h"

#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

struct date_scanner {
	const char *p;
};

/* Skips folding white space and comments (CFWS). Returns false for an
 * unterminated comment. */
static bool
date_skip_cfws(struct date_scanner *s)
{
	for (;;) {
		while (*s->p == ' ' || *s->p == '\t' || *s->p == '\r' ||
		    *s->p == '\n')
			s->p++;
		if (*s->p != '(')
			return true;

		int depth = 0;
		do {
			if (*s->p == '\0')
				return false;
			if (*s->p == '\\' && s->p[1] != '\0')
				s->p++;
			else if (*s->p == '(')
				depth++;
			else if (*s->p == ')')
				depth--;
			s->p++;
		} while (depth > 0);
	}
}

/* Reads 1 to max_digits digits into *value; returns the digit count. */
static int
date_number(struct date_scanner *s, int max_digits, int *value)
{
	int n = 0;

	*value = 0;
	while (n < max_digits && *s->p >= '0' && *s->p <= '9') {
		*value = *value * 10 + (*s->p - '0');
		s->p++;
		n++;
	}
	if (*s->p >= '0' && *s->p <= '9')
		return 0;
	return n;
}

/* Reads a word of letters into buf (at most size - 1 of them). */
static size_t
date_word(struct date_scanner *s, char *buf, size_t size)
{
	size_t n = 0;

	while ((*s->p >= 'a' && *s->p <= 'z') || (*s->p >= 'A' && *s->p <= 'Z')) {
		if (n + 1 >= size)
			return 0;
		buf[n++] = *s->p++;
	}
	buf[n] = '\0';
	return n;
}

static int
date_index(const char *word, const char *const *names, int count)
{
	for (int i = 0; i < count; i++) {
		if (strcasecmp(word, names[i]) == 0)
			return i;
	}
	return -1;
}

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static long long
date_days_from_civil(int year, int month, int day)
{
	long long y = year - (month <= 2);
	long long era = (y >= 0 ? y : y - 399) / 400;
	long long yoe = y - era * 400;
	long long doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
	long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + doe - 719468;
}

static int
date_days_in_month(int year, int month)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

	return month == 2 && leap ? 29 : days[month - 1];
}

/* Parses the zone: "+hhmm", "-hhmm" or an obsolete zone name. Military
 * zones other than "Z" are unreliable (RFC 5322 4.3), so they are refused. */
static int
date_zone(struct date_scanner *s, int *offset_r)
{
	static const struct { const char *name; int offset; } names[] = {
		{ "UT", 0 }, { "GMT", 0 }, { "Z", 0 }, { "EST", -300 },
		{ "EDT", -240 }, { "CST", -360 }, { "CDT", -300 },
		{ "MST", -420 }, { "MDT", -360 }, { "PST", -480 }, { "PDT", -420 },
	};
	char word[8];
	int hhmm;

	if (*s->p == '+' || *s->p == '-') {
		int sign = *s->p == '-' ? -1 : 1;
		s->p++;
		if (date_number(s, 4, &hhmm) != 4 || hhmm % 100 > 59)
			return -1;
		*offset_r = sign * (hhmm / 100 * 60 + hhmm % 100);
		return 0;
	}
	if (date_word(s, word, sizeof(word)) == 0)
		return -1;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcasecmp(word, names[i].name) == 0) {
			*offset_r = names[i].offset;
			return 0;
		}
	}
	return -1;
}

/* Parses "hh:mm[:ss]". */
static int
date_time_of_day(struct date_scanner *s, int *hour, int *minute, int *second)
{
	if (date_number(s, 2, hour) == 0 || !date_skip_cfws(s) || *s->p != ':')
		return -1;
	s->p++;
	if (!date_skip_cfws(s) || date_number(s, 2, minute) != 2 ||
	    !date_skip_cfws(s))
		return -1;
	*second = 0;
	if (*s->p == ':') {
		s->p++;
		if (!date_skip_cfws(s) || date_number(s, 2, second) != 2)
			return -1;
	}
	if (*hour > 23 || *minute > 59 || *second > 60)
		return -1;
	return 0;
}

/* Parses "[day-name ","] day month year" and returns the day of the week
 * given, or 7 when none was. */
static int
date_day_month_year(struct date_scanner *s, int *day, int *month, int *year,
    int *weekday_r)
{
	static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu",
		"Fri", "Sat" };
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr",
		"May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	char word[8];
	int digits;

	*weekday_r = 7;
	if (!date_skip_cfws(s))
		return -1;
	if (*s->p < '0' || *s->p > '9') {
		if (date_word(s, word, sizeof(word)) == 0 ||
		    (*weekday_r = date_index(word, days, 7)) < 0 ||
		    !date_skip_cfws(s) || *s->p != ',')
			return -1;
		s->p++;
		if (!date_skip_cfws(s))
			return -1;
	}
	if (date_number(s, 2, day) == 0 || !date_skip_cfws(s) ||
	    date_word(s, word, sizeof(word)) == 0 ||
	    (*month = date_index(word, months, 12) + 1) == 0 ||
	    !date_skip_cfws(s) || (digits = date_number(s, 4, year)) < 2)
		return -1;
	/* RFC 5322 4.3: two-digit years below 50 are 20xx, others 19xx;
	 * three-digit years add 1900. */
	if (digits == 2)
		*year += *year < 50 ? 2000 : 1900;
	else if (digits == 3)
		*year += 1900;
	if (*day < 1 || *day > date_days_in_month(*year, *month))
		return -1;
	return 0;
}

int
mime_date_parse(const char *text, time_t *t_r, int *offset_r)
{
	struct date_scanner s = { text };
	int day, month, year, weekday, hour, minute, second, offset;
	long long days, seconds;

	if (text == NULL ||
	    date_day_month_year(&s, &day, &month, &year, &weekday) < 0 ||
	    !date_skip_cfws(&s) ||
	    date_time_of_day(&s, &hour, &minute, &second) < 0 ||
	    !date_skip_cfws(&s) || date_zone(&s, &offset) < 0 ||
	    !date_skip_cfws(&s) || *s.p != '\0')
		return -1;

	days = date_days_from_civil(year, month, day);
	/* 1970-01-01 was a Thursday. */
	if (weekday != 7 && ((days % 7 + 11) % 7) != weekday)
		return -1;
	seconds = days * 86400 + hour * 3600 + minute * 60 + second -
	    (long long)offset * 60;
	*t_r = (time_t)seconds;
	*offset_r = offset;
	return 0;
}
