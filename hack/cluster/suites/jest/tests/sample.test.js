// The sample suite of the jest plugin: two tests pass, one fails and one is skipped, so the e2e test sees a
// failing exit code and all four in the JUnit summary.
test('adds', () => {
  expect(2 + 2).toBe(4);
});

test('sees its report directory', () => {
  expect(process.env.TESTRUN_REPORT_DIR).toBeTruthy();
});

test('greets the cluster', () => {
  expect('hello, world').toBe('hello, cluster');
});

test.skip('is skipped', () => {});
