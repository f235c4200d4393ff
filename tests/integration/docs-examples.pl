#!/usr/bin/perl
# The shell examples of README.md and docs/*.md that need no network and no
# running daemon, for tests/integration/docs-examples.t: finds each ```sh
# block, splits it into commands (joining "\" continuations, keeping
# here-documents, dropping "# comments"), and keeps the `herald` (or
# `build/herald`) commands with a subcommand that works offline: config,
# route, help, version, --help, and send and check with the log provider
# (no NOTIFICATIONS_PROVIDER set). A block's export lines go before each
# of its commands. When the block is followed by a plain, text or json
# fenced block, that is the expected output of the block's last command.
#
#   docs-examples.pl SRC OUTDIR FILE...
#
# Writes OUTDIR/NNN.cmd (the script to run), NNN.where ("FILE:LINE: the
# command") and, with an expected output, NNN.expect; prints one line
# "skip<TAB>FILE:LINE<TAB>why" per herald command it does not run.
use strict;
use warnings;
use Text::ParseWords qw(shellwords);

my ($src, $out, @files) = @ARGV;
my %offline = map { $_ => 1 } qw(config route help version --help --version);
my $n = 0;

# The command without a trailing "# comment" (outside quotes).
sub strip_comment {
	my ($line) = @_;
	my ($q, $prev) = ('', ' ');
	for my $i (0 .. length($line) - 1) {
		my $c = substr($line, $i, 1);
		if ($q) {
			$q = '' if $c eq $q;
		} elsif ($c eq "'" || $c eq '"') {
			$q = $c;
		} elsif ($c eq '#' && $prev =~ /\s/) {
			return substr($line, 0, $i) =~ s/\s+$//r;
		}
		$prev = $c;
	}
	return $line =~ s/\s+$//r;
}

# Why the command cannot run here, or "" when it can.
sub why_not {
	my ($cmd, $exports) = @_;
	my $first = (split /\n/, $cmd)[0];
	my @w = shellwords($first =~ s/<<.*//r);
	shift @w while @w && $w[0] =~ /^[A-Z_][A-Z0-9_]*=/;
	return "not herald" unless @w && $w[0] =~ m{^(build/)?herald$};
	my $sub = $w[1] // '';
	# send and check are offline with the log provider (none set).
	my $log = ($sub eq 'send' || $sub eq 'check') &&
		"$exports\n$cmd" !~ /NOTIFICATIONS_PROVIDER=\S/;
	return "herald $sub needs the network or a running daemon"
		unless $offline{$sub} || $log || grep { $_ eq '--help' } @w;
	return "uses shell variables or command substitution" if $first =~ /[\$`]/;
	for my $a (@w[2 .. $#w]) {
		last if $a eq '|';
		next if $a =~ /^-/;
		next unless $a =~ m{/} || $a =~ /\.(json|ya?ml)$/;
		if ($a =~ /[*?]/) {
			return "$a matches no file" unless glob("$src/$a");
		} elsif (!-e "$src/$a") {
			return "names $a, which is not in the tree (a placeholder)";
		}
	}
	return "";
}

for my $file (@files) {
	open my $fh, '<', "$src/$file" or die "$src/$file: $!";
	my @lines = <$fh>;
	close $fh;
	chomp @lines;
	my $i = 0;
	while ($i < @lines) {
		unless ($lines[$i] =~ /^\s*```sh\s*$/) {
			$i++;
			next;
		}
		my (@cmds, @exports);
		$i++;
		while ($i < @lines && $lines[$i] !~ /^\s*```\s*$/) {
			my $start = $i + 1;
			my $cmd = strip_comment($lines[$i]);
			while ($cmd =~ /\\$/ && $i + 1 < @lines) {
				$i++;
				$cmd =~ s/\\$//;
				$cmd .= ' ' . (strip_comment($lines[$i]) =~ s/^\s+//r);
			}
			if ($cmd =~ /<<-?\s*'?"?(\w+)/) {
				my $end = $1;
				while ($i + 1 < @lines) {
					$i++;
					$cmd .= "\n$lines[$i]";
					last if $lines[$i] =~ /^\s*\Q$end\E\s*$/;
				}
			}
			$i++;
			next if $cmd !~ /\S/;
			if ($cmd =~ /^\s*export\s/) {
				push @exports, $cmd;
				next;
			}
			push @cmds, [$start, $cmd, [@exports]];
		}
		$i++;	# the closing fence
		my $j = $i;
		$j++ while $j < @lines && $lines[$j] =~ /^\s*$/;
		my $expect;
		if ($j < @lines && $lines[$j] =~ /^\s*```(text|json|)\s*$/) {
			my @e;
			$j++;
			while ($j < @lines && $lines[$j] !~ /^\s*```\s*$/) {
				push @e, $lines[$j] =~ s/^\s+//r;
				$j++;
			}
			$expect = join("\n", @e) . "\n";
		}
		for my $k (0 .. $#cmds) {
			my ($line, $cmd, $exp) = @{$cmds[$k]};
			my $why = why_not($cmd, join("\n", @$exp));
			next if $why eq "not herald";
			my $shown = (split /\n/, $cmd)[0];
			$shown =~ s/\s+/ /g;
			if ($why) {
				print "skip\t$file:$line\t$shown: $why\n";
				next;
			}
			$n++;
			my $base = sprintf "%s/%03d", $out, $n;
			open my $c, '>', "$base.cmd" or die;
			print $c join("\n", @$exp, $cmd), "\n";
			close $c;
			open my $w, '>', "$base.where" or die;
			print $w "$file:$line: $shown\n";
			close $w;
			if (defined $expect && $k == $#cmds) {
				open my $e, '>', "$base.expect" or die;
				print $e $expect;
				close $e;
			}
		}
	}
}
