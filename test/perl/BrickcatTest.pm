# BrickcatTest: helpers for brickcat's Perl TAP tests.
#
# Starts the bundled BrickLink simulator on a free loopback port and throwaway
# clusters with brickcat preloaded and pointed at it.
#
#   my $sim  = BrickcatTest::Simulator->start(seed => 1);
#   my $node = BrickcatTest::new_node('main', sim => $sim);
#   BrickcatTest::wait_for_worker($node);
#   is($sim->count('item:PART:3001'), 1, 'one upstream call');
package BrickcatTest;

use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

# project_root returns the root of the brickcat source tree.
sub project_root
{
	return abs_path(dirname(__FILE__) . '/../..');
}

# data_dir returns the directory of the shared real catalog data.
sub data_dir
{
	my $d = $ENV{BRICKCAT_DATA} // project_root() . '/../shared/data';
	die "brickcat test data not found at $d (set BRICKCAT_DATA)" unless -d $d;
	return abs_path($d);
}

# new_node creates and starts a cluster with brickcat preloaded and the
# extension created in database "postgres".  Options: sim (a Simulator),
# conf (extra postgresql.conf lines), cron (also preload pg_cron),
# allows_streaming (for replication tests), no_start, secrets (hash).
sub new_node
{
	my ($name, %opt) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init(allows_streaming => $opt{allows_streaming} ? 1 : 0);

	my $libs = $opt{cron} ? 'brickcat,pg_cron' : 'brickcat';
	my $base = $opt{sim} ? $opt{sim}->base_url : 'http://127.0.0.1:9/api/store/v1';
	my %sec = (
		consumer_key => 'test-consumer-key',
		consumer_secret => 'test-consumer-secret',
		token_value => 'test-token-value',
		token_secret => 'test-token-secret',
		%{ $opt{secrets} // {} });
	my $conf = "shared_preload_libraries = '$libs'\n"
	  . "brickcat.database = 'postgres'\n"
	  . "brickcat.api_base_url = '$base'\n"
	  . join('', map { "brickcat.$_ = '$sec{$_}'\n" } sort keys %sec)
	  . "log_min_messages = info\n";
	$conf .= "cron.database_name = 'postgres'\n" if $opt{cron};
	$conf .= $opt{conf} if $opt{conf};
	$node->append_conf('postgresql.conf', $conf);
	return $node if $opt{no_start};

	$node->start;
	$node->safe_psql('postgres', 'CREATE EXTENSION brickcat');
	$node->safe_psql('postgres', 'CREATE EXTENSION pg_cron') if $opt{cron};
	return $node;
}

# wait_for_worker waits until brickcat's worker is running and ready.
sub wait_for_worker
{
	my ($node, $db) = @_;
	$node->poll_query_until($db // 'postgres',
		'SELECT worker_running FROM brickcat.status')
	  or die 'brickcat worker did not start';
	return;
}

# worker_pid returns the pid of brickcat's worker (undef when not running).
sub worker_pid
{
	my ($node) = @_;
	my $pid = $node->safe_psql('postgres', 'SELECT worker_pid FROM brickcat.status');
	return $pid eq '' ? undef : $pid;
}

package BrickcatTest::Simulator;

use strict;
use warnings;

use HTTP::Tiny;
use JSON::PP;
use PostgreSQL::Test::Utils;
use Time::HiRes qw(usleep);

# start launches the simulator on a free port and waits until it listens.
# Options: seed, args (array ref of extra command-line arguments).
sub start
{
	my ($class, %opt) = @_;
	my $dir = PostgreSQL::Test::Utils::tempdir();
	my $portfile = "$dir/sim.port";
	my $script = BrickcatTest::project_root() . '/test/simulator/bricklink_sim.py';
	my @cmd = ('python3', $script, '--host', '127.0.0.1', '--port', '0',
		'--port-file', $portfile, '--seed', $opt{seed} // 1,
		'--data-dir', BrickcatTest::data_dir(), '--quiet',
		'--log-file', "$dir/sim.log", @{ $opt{args} // [] });
	my $pid = fork();
	die "fork: $!" unless defined $pid;
	if ($pid == 0)
	{
		open(STDOUT, '>>', "$dir/sim.out");
		open(STDERR, '>&', \*STDOUT);
		exec(@cmd) or die "exec @cmd: $!";
	}
	for (1 .. 200)
	{
		last if -s $portfile;
		usleep(50_000);
	}
	die "simulator did not start; see $dir/sim.out" unless -s $portfile;
	open(my $fh, '<', $portfile) or die;
	my $port = <$fh>;
	close($fh);
	chomp $port;
	my $self = bless {
		pid => $pid,
		port => $port,
		dir => $dir,
		http => HTTP::Tiny->new(timeout => 30),
	}, $class;
	return $self;
}

# base_url is what brickcat.api_base_url must be set to.
sub base_url { my ($self) = @_; return "http://127.0.0.1:$self->{port}/api/store/v1"; }

# control sends a request to the simulator's control API and decodes the reply.
sub control
{
	my ($self, $method, $path, $body) = @_;
	my $res = $self->{http}->request($method, "http://127.0.0.1:$self->{port}/_sim/$path",
		defined $body
		? { content => encode_json($body), headers => { 'Content-Type' => 'application/json' } }
		: {});
	die "simulator $method $path: $res->{status} $res->{content}" unless $res->{success};
	return $res->{content} eq '' ? {} : decode_json($res->{content});
}

# stats returns the simulator's call counters.
sub stats { my ($self) = @_; return $self->control('GET', 'stats'); }

# count returns how many calls the simulator saw for one key (or in total).
sub count
{
	my ($self, $key) = @_;
	my $s = $self->stats;
	return $s->{total} unless defined $key;
	return $s->{by_key}{$key} // 0;
}

# reset zeroes the counters and clears faults.
sub reset { my ($self) = @_; return $self->control('POST', 'reset', {}); }

# faults replaces the active fault list.
sub faults { my ($self, @f) = @_; return $self->control('POST', 'faults', { faults => [@f] }); }

# stop terminates the simulator.
sub stop
{
	my ($self) = @_;
	return unless $self->{pid};
	kill 'TERM', $self->{pid};
	waitpid($self->{pid}, 0);
	$self->{pid} = undef;
	return;
}

sub DESTROY { my ($self) = @_; $self->stop; }

1;
