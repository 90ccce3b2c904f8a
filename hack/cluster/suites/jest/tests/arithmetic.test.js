// A passing test of the jest sample suite (see sample.test.js).
test('adds', () => {
  expect(2 + 2).toBe(4);
});
