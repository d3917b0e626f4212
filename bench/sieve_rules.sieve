# A member's filter as webmail filter pages and mail clients write them: 30 rules,
# header tests (:is, :contains, :matches) on From, To, Subject and List-Id, address
# tests, fileinto into 10 folders, imap4flags (addflag, setflag) and stop.
#
# bench/sieve_ingest.py installs it for its accounts (Pigeonhole's layout:
# ~/sieve/sieve_rules.sieve, ~/.dovecot.sieve linking to it), on Mailroom and on the
# reference Dovecot (bench/reference/start with REFERENCE_SIEVE=this file), and sends
# mail that makes every kind of rule fire (bench/sieve_mail.py says which message
# lands where, with which flags). Change both together.
require ["fileinto", "imap4flags"];

# 1-3: spam, marked read.
if header :contains "X-Spam-Flag" "YES" {
    setflag "\\Seen";
    fileinto "Spam";
    stop;
}
if header :matches "Subject" "[SPAM] *" {
    setflag "\\Seen";
    fileinto "Spam";
    stop;
}
if address :domain :is "From" ["bulk-offers.example", "cheap-pills.example"] {
    fileinto "Spam";
    stop;
}

# 4-6: mailing lists by List-Id.
if header :is "List-Id" "Mailroom developers <dev.lists.mailroom.test>" {
    fileinto "Dev";
    stop;
}
if header :contains "List-Id" "<announce.lists.mailroom.test>" {
    fileinto "Announce";
    stop;
}
if header :matches "List-Id" "*<*.lists.debian.example>" {
    fileinto "Lists";
    stop;
}

# 7-8: newsletters.
if allof (exists "List-Unsubscribe", header :contains "From" "newsletter") {
    addflag "$Newsletter";
    fileinto "Newsletters";
    stop;
}
if header :contains "Subject" ["newsletter", "weekly digest"] {
    fileinto "Newsletters";
    stop;
}

# 9-10: shop receipts.
if allof (address :localpart :is "From" ["noreply", "no-reply"],
          address :domain :is "From" "shop.example") {
    fileinto "Receipts";
    stop;
}
if header :contains "Subject" ["invoice", "receipt", "order confirmation"] {
    addflag "$Receipt";
    fileinto "Receipts";
    stop;
}

# 11-13: the bank.
if address :is "From" ["billing@isp.example", "statements@bank.example"] {
    addflag "\\Flagged";
    fileinto "Billing";
    stop;
}
if address :domain :is "From" "bank.example" {
    fileinto "Billing";
    stop;
}
if header :matches "Subject" "Your * statement is ready" {
    fileinto "Billing";
    stop;
}

# 14-17: work.
if address :all :is "From" "boss@work.example" {
    addflag "\\Flagged";
    fileinto "Work";
    stop;
}
if address :is "To" "team@work.example" {
    fileinto "Work";
    stop;
}
if address :domain :is "Cc" "work.example" {
    fileinto "Work";
    stop;
}
if header :is "Subject" "Weekly report" {
    addflag "$Report";
    fileinto "Work";
    stop;
}

# 18-19: family.
if address :domain :is "From" "family.example" {
    fileinto "Family";
    stop;
}
if header :contains "From" ["Mum", "Grandpa"] {
    fileinto "Family";
    stop;
}

# 20-22: travel.
if header :contains "Subject" ["flight", "boarding pass", "hotel booking"] {
    fileinto "Travel";
    stop;
}
if address :domain :matches "From" "*.airline.example" {
    fileinto "Travel";
    stop;
}
if header :matches "Subject" "Itinerary for *" {
    fileinto "Travel";
    stop;
}

# 23-24: flag what looks urgent, and go on (kept in INBOX unless a later rule files it).
if header :contains "Subject" "URGENT" {
    addflag "\\Flagged";
}
if header :is "X-Priority" "1" {
    addflag "\\Flagged";
}

# 25-28: more list and project mail.
if address :localpart :matches "To" "*+lists" {
    fileinto "Lists";
    stop;
}
if header :contains "Subject" "[github]" {
    fileinto "Dev";
    stop;
}
if address :domain :is "From" "ci.mailroom.test" {
    # Replaces a \Flagged from rule 23: build mail is never urgent (RFC 5232 §4).
    setflag "\\Seen";
    fileinto "Dev";
    stop;
}
if header :contains "Precedence" ["bulk", "list"] {
    fileinto "Lists";
    stop;
}

# 29-30: a friend's mail stays in INBOX with a keyword; unsubscribe notices.
if address :is "From" "friend@example.net" {
    addflag "$Friend";
}
if header :matches "Subject" "*unsubscribe*" {
    fileinto "Newsletters";
    stop;
}
# Anything else: the implicit keep, into INBOX with the flags set above.
