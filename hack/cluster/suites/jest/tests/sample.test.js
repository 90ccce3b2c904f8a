// The sample suite of the jest plugin, in three files so that a sharded run (jest splits by file) gives each
// of 3 shards one: over the three, two tests pass, one fails and one is skipped, so the e2e test sees a
// failing exit code and all four in the JUnit summary.
test('greets the cluster', () => {
  expect('hello, world').toBe('hello, cluster');
});

test.skip('is skipped', () => {});
