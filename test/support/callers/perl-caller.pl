#!/usr/bin/perl
# A caller as a Perl shop writes it: Gearman::Client's do_task with on_fail / on_warning /
# on_exception. Prints one JSON line. A die (as Gearman::Client does on a packet it cannot
# place) is reported as "died".
#   perl perl-caller.pl HOST PORT FUNCTION PAYLOAD
use strict;
use warnings;
use Gearman::Client;
use JSON::PP;
use Time::HiRes qw(time);

my ($host, $port, $fn, $payload) = @ARGV;
my $client = Gearman::Client->new(job_servers => ["$host:$port"]);
my (@warnings, $failed, $exception);
my $started = time;
my $result = eval {
    $client->do_task(
        $fn, $payload,
        {
            on_fail      => sub { $failed = defined $_[0] ? $_[0] : "" },
            on_warning   => sub { push @warnings, ref $_[0] ? ${ $_[0] } : $_[0] },
            on_exception => sub { $exception = ref $_[0] ? ${ $_[0] } : $_[0] },
            timeout      => 20,
        }
    );
};
my $died = $@ ? "$@" : undef;
print JSON::PP->new->canonical->encode({
    result    => defined $result ? $$result : undef,
    failed    => defined $failed ? JSON::PP::true : JSON::PP::false,
    warnings  => \@warnings,
    exception => $exception,
    died      => $died,
    ms        => int((time - $started) * 1000 + 0.5),
}), "\n";
