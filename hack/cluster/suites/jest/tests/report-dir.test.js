// A passing test of the jest sample suite (see sample.test.js).
test('sees its report directory', () => {
  expect(process.env.TESTRUN_REPORT_DIR).toBeTruthy();
});
