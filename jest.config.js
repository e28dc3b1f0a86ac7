/** Jest runs TypeScript through SWC (no type-check here: `npm run typecheck` owns that). */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.(t|j)s$': ['@swc/jest', { jsc: { target: 'es2023' }, module: { type: 'commonjs' } }] },
  transformIgnorePatterns: ['/node_modules/(?!aws-local-stepfunctions)'],
  moduleNameMapper: {
    '^#shared/(.*)$': '<rootDir>/shared/$1',
    '^#local/(.*)$': '<rootDir>/local/$1',
  },
  testTimeout: 60000,
};
