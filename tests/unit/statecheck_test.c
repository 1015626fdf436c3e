/* The diagnosis of `state check` that needs no token: mr_db_parse (the
 * database read without cutting anything) and mr_statecheck_agree (the
 * database against the audit log), with the finding each case must give. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mr_statecheck.h"

#define S1 "11111111111111111111111111111111"
#define S2 "22222222222222222222222222222222"
#define S3 "33333333333333333333333333333333"
#define H64 "0000000000000000000000000000000000000000000000000000000000000000"
#define HAB "ab00000000000000000000000000000000000000000000000000000000000000"

static void
parse(const char *text, mr_db *db, size_t *good, int want)
{
	mr_diag d;

	mr_diag_clear(&d);
	assert_int_equal(mr_db_parse(db, "issued.db", (const uint8_t *)text, strlen(text), good, &d),
	    want);
}

static void
test_db_parse(void **state)
{
	mr_db db;
	size_t good = 0;
	const char *ok = "op=reserve serial=" S1 " request=" H64 " cluster=a\n"
			 "op=issue serial=" S1 " request=" H64 " cluster=a cert=" H64 " not_after=9\n";
	char buf[1024];
	mr_diag d;

	(void)state;
	parse(ok, &db, &good, MR_OK);
	assert_int_equal(good, strlen(ok));
	assert_int_equal(db.n, 1);
	assert_int_equal(db.e[0].state, MR_DB_ISSUED);
	mr_db_close(&db);

	/* A torn final line is reported, not loaded, and nothing is cut. */
	snprintf(buf, sizeof(buf), "%sop=reserve serial=%s", ok, S2);
	parse(buf, &db, &good, MR_OK);
	assert_int_equal(good, strlen(ok));
	assert_int_equal(db.n, 1);
	mr_db_close(&db);

	/* A truncated line in the middle is named by its number. */
	snprintf(buf, sizeof(buf), "op=reserve serial=%s\n%s", S2, ok);
	mr_diag_clear(&d);
	assert_int_equal(mr_db_parse(&db, "issued.db", (const uint8_t *)buf, strlen(buf), &good, &d),
	    MR_E_DB);
	assert_string_equal(d.msg, "issued.db: line 1 unreadable");
	/* A second reservation of a serial. */
	snprintf(buf, sizeof(buf), "%sop=reserve serial=%s request=%s cluster=b\n", ok, S1, H64);
	mr_diag_clear(&d);
	assert_int_equal(mr_db_parse(&db, "issued.db", (const uint8_t *)buf, strlen(buf), &good, &d),
	    MR_E_DB);
	assert_string_equal(d.msg, "issued.db: line 3 reuses serial " S1);
}

/* The findings of agree(db text, log text), certs from a dir without any. */
static void
agree(const char *dbtext, const char *log, mr_sc_report *rep)
{
	mr_db db;
	size_t good = 0;
	mr_diag d;

	mr_diag_clear(&d);
	mr_sc_init(rep);
	parse(dbtext, &db, &good, MR_OK);
	assert_int_equal(mr_statecheck_agree(&db, (const uint8_t *)log, strlen(log), "/nonexistent",
			     rep, &d),
	    MR_OK);
	mr_db_close(&db);
}

static void
test_agree(void **state)
{
	mr_sc_report rep;
	const char *reserve1 = "op=reserve serial=" S1 " request=" H64 " cluster=a\n";
	const char *issue1 = "op=issue serial=" S1 " request=" H64 " cluster=a cert=" H64
			     " not_after=9\n";
	const char *log_issue1 = "seq=1 event=issue serial=" S1 " cert=" H64 "\n";
	char db[2048];

	(void)state;
	/* In agreement. */
	snprintf(db, sizeof(db), "%s%s", reserve1, issue1);
	agree(db, log_issue1, &rep);
	assert_int_equal(rep.n, 0);
	mr_sc_free(&rep);

	/* A database issue without its audit record: never repaired. */
	agree(db, "seq=1 event=login\n", &rep);
	assert_int_equal(rep.n, 1);
	assert_int_equal(rep.f[0].repair, MR_SC_MANUAL);
	assert_string_equal(rep.f[0].text,
	    "serial " S1 ": issued.db issues it, audit.log has no issue record");
	mr_sc_free(&rep);

	/* An audit issue without its row and without its certificate: manual. */
	agree(reserve1, log_issue1, &rep);
	assert_int_equal(rep.n, 1);
	assert_int_equal(rep.f[0].repair, MR_SC_MANUAL);
	assert_string_equal(rep.f[0].text, "serial " S1 ": audit.log record 1 issues it, issued.db "
	    "has no issue row, and certs/" S1 ".pem is missing");
	mr_sc_free(&rep);

	/* An audit abandon without its row, a revoke of a serial issued in
	 * both, and a reservation nobody resolved: all repairable. */
	snprintf(db, sizeof(db), "%s%sop=reserve serial=%s request=%s cluster=c\n", reserve1, issue1,
	    S3, H64);
	agree(db,
	    "seq=1 event=issue serial=" S1 " cert=" H64 "\n"
	    "seq=2 event=abandon serial=" S2 " request=" H64 " cluster=b reason=x\n"
	    "seq=3 event=revoke serial=" S1 " reason=superseded time=5\n",
	    &rep);
	assert_int_equal(rep.n, 3);
	assert_int_equal(rep.f[0].repair, MR_SC_DB_FROM_LOG);
	assert_string_equal(rep.f[0].event, "abandon");
	assert_string_equal(rep.f[0].serial, S2);
	assert_int_equal(rep.f[1].repair, MR_SC_DB_FROM_LOG);
	assert_string_equal(rep.f[1].event, "revoke");
	assert_int_equal(rep.f[2].repair, MR_SC_RESOLVE);
	assert_string_equal(rep.f[2].serial, S3);
	assert_int_equal(mr_sc_manual(&rep), 0);
	mr_sc_free(&rep);

	/* Log and database contradict each other. */
	snprintf(db, sizeof(db), "%sop=abandon serial=%s reason=x\n", reserve1, S1);
	agree(db, log_issue1, &rep);
	assert_int_equal(rep.n, 2);
	assert_string_equal(rep.f[0].text,
	    "serial " S1 ": audit.log record 1 issues it, issued.db abandons it");
	assert_string_equal(rep.f[1].text,
	    "serial " S1 ": issued.db abandons it, audit.log has no abandon record");
	assert_int_equal(mr_sc_manual(&rep), 2);
	mr_sc_free(&rep);
}

/* Events that agree with their rows only mark them; the rest are judged
 * against the marks and against each other, as if every event were kept. */
static void
test_agree_marks(void **state)
{
	mr_sc_report rep;
	const char *reserve1 = "op=reserve serial=" S1 " request=" H64 " cluster=a\n";
	const char *issue1 = "op=issue serial=" S1 " request=" H64 " cluster=a cert=" H64
			     " not_after=9\n";
	const char *revoke1 = "op=revoke serial=" S1 " reason=superseded time=5\n";
	const char *log_issue1 = "seq=1 event=issue serial=" S1 " cert=" H64 "\n";
	const char *log_revoke1 = "seq=2 event=revoke serial=" S1 " reason=superseded time=5\n";
	char db[2048], log[2048];

	(void)state;
	/* Issued and revoked in both: nothing to say. */
	snprintf(db, sizeof(db), "%s%s%s", reserve1, issue1, revoke1);
	snprintf(log, sizeof(log), "%s%s", log_issue1, log_revoke1);
	agree(db, log, &rep);
	assert_int_equal(rep.n, 0);
	mr_sc_free(&rep);

	/* Revoked in the database only: the issue record marked the row,
	 * the missing revoke is still seen. */
	agree(db, log_issue1, &rep);
	assert_int_equal(rep.n, 1);
	assert_string_equal(rep.f[0].text,
	    "serial " S1 ": issued.db revokes it, audit.log has no revoke record");
	mr_sc_free(&rep);

	/* The log issues another certificate than the row names. */
	snprintf(db, sizeof(db), "%s%s", reserve1, issue1);
	agree(db, "seq=1 event=issue serial=" S1 " cert=" HAB "\n", &rep);
	assert_int_equal(rep.n, 1);
	assert_string_equal(rep.f[0].text, "serial " S1 ": audit.log record 1 and issued.db name "
	    "different certificates");
	mr_sc_free(&rep);

	/* A serial without a row, both issued and abandoned in the log:
	 * the two kept events are judged against each other. */
	agree(reserve1,
	    "seq=1 event=issue serial=" S2 " cert=" H64 "\n"
	    "seq=2 event=abandon serial=" S2 " request=" H64 " cluster=b reason=x\n",
	    &rep);
	assert_int_equal(rep.n, 3);
	assert_string_equal(rep.f[0].text, "serial " S2 ": audit.log record 1 issues it, issued.db "
	    "has no issue row, and certs/" S2 ".pem is missing");
	assert_string_equal(rep.f[1].text,
	    "serial " S2 ": audit.log both issues and abandons it (record 2)");
	assert_int_equal(rep.f[2].repair, MR_SC_RESOLVE);
	assert_string_equal(rep.f[2].serial, S1);
	mr_sc_free(&rep);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_db_parse),
		cmocka_unit_test(test_agree),
		cmocka_unit_test(test_agree_marks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
